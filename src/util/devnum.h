/*
 * Disk names as numbers: Xen's virtual-device numbers (blkif.py's blkdev_name_to_number),
 * which xm's block-list prints, xm block-detach accepts and the xend.* compatibility calls
 * use as device ids. Exported by libxend as xend_disk_devnum (see include/xend/xend.h).
 */
#ifndef XEND_UTIL_DEVNUM_H
#define XEND_UTIL_DEVNUM_H

/* A whole non-negative decimal number without sign or leading zeros, at most max; else
 * -1. */
long xend_parse_index(const char *s, long max);

/* The number of a disk target name ("xvda1", "/dev/hdc", "sdb", "vda2"): xvd[a-p]N is
 * 202:(16*disk+N), later xvd disks Xen's extended 2^28 + (disk << 8) + N; hd is IDE
 * (majors 3, 22, 33, 34, 56, 57, 88..91, two disks of 64 minors each); sd is SCSI (majors
 * 8, 65..71, 128..135, 16 minors per disk); vd is virtio-blk, 254:(16*disk+N) (major:minor
 * is major * 256 + minor). Disk letters a..z and aa..zz; partitions 1..15 (IDE 1..63). So
 * xvda1 is 51713, hda 768, hdc 5632, sda 2048, vda 65024. -1 for any other name. */
long xend_disk_devnum(const char *target);

#endif
