/*
 * Disk names as Xen's virtual-device numbers (see devnum.h): one implementation for xm
 * (through libxend's export), the xend.* compatibility calls and the simulated guest.
 */
#include "util/devnum.h"

#include <string.h>

long xend_parse_index(const char *s, long max)
{
    long v = 0;
    if (!*s || (s[0] == '0' && s[1]))
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

long xend_disk_devnum(const char *target)
{
    static const struct {
        const char *prefix;
        char kind;
    } buses[] = {{"xvd", 'x'}, {"hd", 'h'}, {"sd", 's'}, {"vd", 'v'}};
    static const int ide_majors[] = {3, 22, 33, 34, 56, 57, 88, 89, 90, 91};
    static const int scsi_majors[] = {8,   65,  66,  67,  68,  69,  70,  71,
                                      128, 129, 130, 131, 132, 133, 134, 135};
    if (!strncmp(target, "/dev/", 5))
        target += 5;
    size_t b = 0, plen = 0;
    for (; b < sizeof(buses) / sizeof(buses[0]); b++) {
        plen = strlen(buses[b].prefix);
        if (!strncmp(target, buses[b].prefix, plen))
            break;
    }
    if (b == sizeof(buses) / sizeof(buses[0]))
        return -1;
    const char *p = target + plen;
    size_t letters = 0;
    while (p[letters] >= 'a' && p[letters] <= 'z')
        letters++;
    if (letters < 1 || letters > 2)
        return -1;
    long disk = letters == 1 ? p[0] - 'a' : (p[0] - 'a' + 1) * 26 + (p[1] - 'a');
    long part = 0;
    if (p[letters]) {
        part = xend_parse_index(p + letters, 255);
        if (part < 1)
            return -1;
    }
    switch (buses[b].kind) {
    case 'x':
        if (disk < 16 && part <= 15)
            return 202 * 256 + disk * 16 + part;
        return (1L << 28) + (disk << 8) + part;
    case 'h':
        if (disk >= 20 || part > 63)
            return -1;
        return ide_majors[disk / 2] * 256L + (disk % 2) * 64 + part;
    case 's':
        if (disk >= 256 || part > 15)
            return -1;
        return scsi_majors[disk / 16] * 256L + (disk % 16) * 16 + part;
    default:
        if (part > 15)
            return -1;
        return 254 * 256L + disk * 16 + part;
    }
}
