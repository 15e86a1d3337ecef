/*
 * libFuzzer target for the simulated host's save images (files on disk that domain.restore
 * and domain.start read back) and the guest-state text they carry, which migrations send
 * too. Each input is written to a scratch file and read with test_drv_image_read: a
 * refusal must report an error; an accepted image's state is parsed, and a state that
 * parses must format to text that parses again and formats to the same bytes. The domain
 * XML inside goes through domain_xml_parse (which has its own target). The console shell
 * of a state that parses then reads what it holds typed ahead (so the fuzzer drives the
 * shell's tty and grammar too, through shell_typeahead=): it must stay within its bounds
 * and leave a state that still formats and parses.
 */
#include "conf/domain_conf.h"
#include "hv/test/test_driver_priv.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *why)
{
    fprintf(stderr, "fuzz-save-image: property violated: %s (last error: %s)\n", why,
            xend_error_last()->message);
    abort();
}

static const char *fuzz_scratch(void)
{
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof(path), "/tmp/xend-fuzz-image-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
    }
    return path;
}

static const test_drv_shell_disk fuzz_disks[] = {{"xvda", 1024}, {"hdc1", 0}, {"sdq", 4}};
static const uint8_t fuzz_macs[1][6] = {{0x52, 0x54, 0, 1, 2, 3}};

static void fuzz_shell(test_drv_state *st)
{
    xring console;
    xring_init(&console, 4096);
    xring_printf(&console, "[    0.000000] Linux\n");
    test_drv_shell_view view = {
        .hostname = "fuzz",
        .cpu_model = "cpu",
        .arch = "x86_64",
        .mhz = 1000,
        .vcpus_online = st->vcpus_online,
        .memory_kib = st->balloon_kib,
        .max_memory_kib = st->balloon_kib,
        .disks = fuzz_disks,
        .ndisks = 3,
        .macs = fuzz_macs,
        .nnics = 1,
        .uptime_ns = st->uptime_ns,
        .now_s = 0,
        .console = &console,
    };
    xbuf out = XBUF_INIT;
    for (int i = 0; i < 4 && st->shell.typeahead_len; i++) {
        xbuf_reset(&out);
        test_drv_shell_run(&st->shell, &view, &out);
        if (out.len > TEST_DRV_SHELL_OUTPUT_MAX + 4096)
            fuzz_fail("one shell run printed more than its bound");
    }
    if (st->shell.line_len >= TEST_DRV_SHELL_LINE_MAX ||
        st->shell.nvars > TEST_DRV_SHELL_VARS_MAX ||
        st->shell.var_bytes > TEST_DRV_SHELL_VARS_BYTES || st->shell.status > 255)
        fuzz_fail("the shell left its bounds");
    xbuf text = XBUF_INIT;
    test_drv_state_format(st, &text);
    test_drv_state again;
    if (test_drv_state_parse(&again, text.data ? text.data : "", text.len, "fuzz") < 0)
        fuzz_fail("the state after a shell run does not parse");
    test_drv_state_clear(&again);
    xbuf_clear(&text);
    xbuf_clear(&out);
    xring_free(&console);
}

static void fuzz_state(const char *text, size_t len)
{
    test_drv_state st, again;
    memset(&st, 0, sizeof(st));
    memset(&again, 0, sizeof(again));
    xend_error_reset();
    if (test_drv_state_parse(&st, text, len, "fuzz") < 0) {
        if (!xend_error_last()->code)
            fuzz_fail("state refused without an error");
        return;
    }
    xbuf first = XBUF_INIT, second = XBUF_INIT;
    test_drv_state_format(&st, &first);
    if (test_drv_state_parse(&again, first.data ? first.data : "", first.len, "fuzz") < 0)
        fuzz_fail("formatted state does not parse again");
    test_drv_state_format(&again, &second);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
        fuzz_fail("state formatting is not a fixed point");
    xbuf_clear(&first);
    xbuf_clear(&second);
    fuzz_shell(&st);
    test_drv_state_clear(&st);
    test_drv_state_clear(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch();
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    test_drv_image img;
    memset(&img, 0, sizeof(img));
    xend_error_reset();
    if (test_drv_image_read(path, &img) < 0) {
        if (!xend_error_last()->code)
            fuzz_fail("image refused without an error");
        test_drv_image_clear(&img);
    } else {
        fuzz_state(img.state, img.state_len);
        domain_def_free(domain_xml_parse(img.xml, img.xml_len, NULL));
        test_drv_image_clear(&img);
    }
    /* The same bytes as bare state text (what a migration carries). */
    fuzz_state((const char *)data, size);
    return 0;
}
