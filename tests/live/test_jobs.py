"""Long jobs report progress: while a slow save runs (the simulated host's save speed),
domain.job_info shows it advancing and the event stream carries "job"/"progress" events
from 0 to 100 percent, in order, for that domain and job."""
import os
import threading
import unittest

from xendtest import Daemon, domain_xml, make_disk, wait_for, write_host_config


class JobProgress(unittest.TestCase):
    def test_save_progress_events(self):
        d = Daemon()
        path = write_host_config(d.dir, save_ms_per_gib=8000)  # 128 MiB: about 1 s
        with open(d.conf_path, "a") as f:
            f.write(f"host_config = {path}\n")
        d.start()
        try:
            with d.proxy() as p:
                disks = os.path.join(d.dir, "disks")
                os.makedirs(disks, exist_ok=True)
                p.domain.define(domain_xml("slow", memory=131072,
                                           disks=[make_disk(disks, "slow.img")]))
                p.domain.start("slow")
                since = p.event.current_id()
                done = {}

                def save():
                    with d.proxy(timeout=60) as q:
                        done["ok"] = q.domain.save("slow", os.path.join(d.dir, "slow.save"))

                t = threading.Thread(target=save)
                t.start()
                seen = []
                self.assertTrue(wait_for(lambda: 0 < p.domain.job_info("slow")["progress"] < 100
                                         or "ok" in done, 20))
                t.join(60)
                self.assertEqual(done.get("ok"), True)
                last = since
                while True:
                    r = p.event.next(last, 0)
                    if not r["events"]:
                        break
                    seen += r["events"]
                    last = r["last_id"]
                progress = [e for e in seen if e["type"] == "job"]
                self.assertTrue(progress, seen)
                for e in progress:
                    self.assertEqual((e["event"], e["domain"], e["job"]),
                                     ("progress", "slow", "domain.save"))
                pct = [e["progress"] for e in progress]
                self.assertEqual(pct, sorted(pct))
                self.assertEqual(pct[0], 0)
                self.assertEqual(pct[-1], 100)
                self.assertEqual(progress[-1]["done"], progress[-1]["total"])
                self.assertEqual(p.domain.job_info("slow")["job"], "")
                self.assertEqual(p.domain.lookup("slow")["state"], "shutoff")
        finally:
            d.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
