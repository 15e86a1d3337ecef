/*
 * Unit tests of the simulated guest's console shell (src/hv/test/test_driver_shell*.c)
 * against a fixed view of a guest: the tty (echo, erase, continuation lines, control
 * characters, the line bound), the grammar (;, assignments, quoting, $VAR ${VAR} $?,
 * syntax errors), the builtins and the files derived from the view (cpuinfo, meminfo,
 * partitions with Linux's device numbers, uptime, balloon, /sys/class/net), the bounds on
 * variables and output, the shell's part of the saved guest state (round trip and every
 * refusal naming its line), and a few thousand rounds of random input that must neither
 * crash nor leave the shell unable to run a command.
 */
#include "check-error.h"
#include "check.h"
#include "hv/test/test_driver_priv.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const test_drv_shell_disk view_disks[] = {
    {"xvda", 1048576}, {"xvdb1", 2048}, {"hdc", 512}, {"sdb", 1024}, {"vdaa", 4}, {"odd", 8},
};
static const uint8_t view_macs[2][6] = {{0x52, 0x54, 0, 0x12, 0x34, 0x56},
                                        {0x00, 0x16, 0x3e, 0, 0, 0x01}};

static xring console_ring;

static test_drv_shell_view make_view(void)
{
    test_drv_shell_view v = {
        .hostname = "web",
        .cpu_model = "Test CPU",
        .arch = "x86_64",
        .mhz = 2000,
        .vcpus_online = 3,
        .memory_kib = 131072,
        .max_memory_kib = 262144,
        .disks = view_disks,
        .ndisks = sizeof(view_disks) / sizeof(view_disks[0]),
        .macs = view_macs,
        .nnics = 2,
        .uptime_ns = 3723450000000ull, /* 1:02:03.45 */
        .now_s = 1700000000,           /* 22:13:20 UTC */
        .console = &console_ring,
    };
    return v;
}

/* Type text, run it, and return everything printed (caller frees). */
static char *type(test_drv_shell *sh, const test_drv_shell_view *v, const char *text)
{
    xbuf out = XBUF_INIT;
    CHECK_INTEQ(test_drv_shell_type(sh, text, strlen(text)), strlen(text));
    test_drv_shell_run(sh, v, &out);
    xbuf_adds(&out, "");
    return xbuf_steal(&out, NULL);
}

/* Run one line; its output without the echo and the prompt (caller frees). */
static char *run(test_drv_shell *sh, const test_drv_shell_view *v, const char *line)
{
    char *typed = xasprintf("%s\n", line);
    char *all = type(sh, v, typed);
    size_t n = strlen(all), head = strlen(typed), tail = strlen(TEST_DRV_SHELL_PROMPT);
    char *out;
    CHECK_MSG(n >= head + tail && strncmp(all, typed, head) == 0 &&
                  strcmp(all + n - tail, TEST_DRV_SHELL_PROMPT) == 0,
              "'%s' printed \"%s\"", line, all);
    if (n >= head + tail)
        out = xstrndup(all + head, n - head - tail);
    else
        out = xstrdup(all);
    free(typed);
    free(all);
    return out;
}

#define CHECK_RUN(sh, v, line, want)                                                               \
    do {                                                                                           \
        char *got_ = run((sh), (v), (line));                                                       \
        CHECK_MSG(strcmp(got_, (want)) == 0, "'%s' printed \"%s\", expected \"%s\"", (line), got_, \
                  (want));                                                                         \
        free(got_);                                                                                \
    } while (0)

/* ---- grammar ---- */

static void test_grammar(void)
{
    test_drv_shell sh = {0};
    test_drv_shell_view v = make_view();
    CHECK_RUN(&sh, &v, "foo=bar", "");
    CHECK_RUN(&sh, &v, "echo $foo ${foo}x \"$foo y\" '$foo' \\$foo", "bar barx bar y $foo $foo\n");
    CHECK_RUN(&sh, &v, "a='x  y'; echo $a; echo \"$a\"", "x y\nx  y\n");
    CHECK_RUN(&sh, &v, "echo [$unset] [\"$unset\"] ''", "[] [] \n");
    CHECK_RUN(&sh, &v, "b=$foo$foo c=\"$a\"; echo $b \"$c\"", "barbar x  y\n");
    CHECK_RUN(&sh, &v, "nosuch; echo $?; ${?}", "sh: nosuch: not found\n127\nsh: 0: not found\n");
    CHECK_RUN(&sh, &v, "false; echo $?; true; echo $?", "1\n0\n");
    CHECK_RUN(&sh, &v, "echo a;echo b ; echo c;", "a\nb\nc\n");
    CHECK_RUN(&sh, &v, "echo a # comment; echo b", "a\n");
    CHECK_RUN(&sh, &v, "echo a#b", "a#b\n");
    CHECK_RUN(&sh, &v, "echo $0 $# $1 $ x$", "sh 0 $ x$\n");
    CHECK_RUN(&sh, &v, "echo -n no newline", "no newline");
    CHECK_RUN(&sh, &v, "echo \"a\\\"b\\\\c\\$d\\e\"", "a\"b\\c$d\\e\n");
    CHECK_RUN(&sh, &v, "X=1 env",
              "HOME=/\nLOGNAME=root\nPATH=/sbin:/usr/sbin:/bin:/usr/bin\n"
              "PWD=/\nSHELL=/bin/sh\nTERM=vt102\nUSER=root\nX=1\n");
    CHECK_RUN(&sh, &v, "echo [$X] $HOME $HOSTNAME", "[] / web\n");
    CHECK_RUN(&sh, &v, "/bin/echo ok; /usr/local/bin/echo no",
              "ok\nsh: /usr/local/bin/echo: not found\n");

    /* Syntax errors stop the whole line, as sh parses a line before running it. */
    CHECK_RUN(&sh, &v, "echo a; echo b | cat",
              "sh: syntax error: '|' is not supported by this shell\n");
    CHECK_RUN(&sh, &v, "echo $?", "2\n");
    CHECK_RUN(&sh, &v, "; echo", "sh: syntax error: unexpected \";\"\n");
    CHECK_RUN(&sh, &v, "echo;; echo", "sh: syntax error: unexpected \";;\"\n");
    CHECK_RUN(&sh, &v, "echo ${a", "sh: syntax error: unterminated ${name}\n");
    CHECK_RUN(&sh, &v, "echo ${a-b}", "sh: syntax error: bad substitution\n");
    CHECK_RUN(&sh, &v, "echo $(ls)", "sh: syntax error: '$(' is not supported by this shell\n");
    CHECK_RUN(&sh, &v, "echo \"`ls`\"", "sh: syntax error: '`' is not supported by this shell\n");
    CHECK_RUN(&sh, &v, "echo > /tmp/x", "sh: syntax error: '>' is not supported by this shell\n");

    /* export, unset, set. */
    CHECK_RUN(&sh, &v, "export E=1 foo; export", "export foo='bar'\nexport E='1'\n");
    CHECK_RUN(&sh, &v, "unset foo 1x; echo [$foo]", "sh: unset: 1x: bad variable name\n[]\n");
    CHECK_RUN(&sh, &v, "q=\"it's\"; set", "E='1'\na='x  y'\nb='barbar'\nc='x  y'\nq='it'\\''s'\n");
    CHECK_RUN(&sh, &v, "export 9=1", "sh: export: 9=1: bad variable name\n");
    CHECK(test_drv_shell_var_get(&sh, "E")->exported);
    CHECK(!test_drv_shell_var_get(&sh, "a")->exported);
    test_drv_shell_clear(&sh);
}

/* ---- the tty ---- */

static void test_tty(void)
{
    test_drv_shell sh = {0};
    test_drv_shell_view v = make_view();
    char *out;

    /* Typing without Enter echoes; the line runs when it ends (CR or LF). */
    out = type(&sh, &v, "echo hi");
    CHECK_STREQ(out, "echo hi");
    free(out);
    out = type(&sh, &v, "\r");
    CHECK_STREQ(out, "\nhi\n/ # ");
    free(out);

    /* Erasing: a hardcopy echo of what was erased; UTF-8 characters erase whole. */
    out = type(&sh, &v,
               "echo ab\xc3\xa9\x7f\x7f"
               "c\n");
    CHECK_STREQ(out, "echo ab\xc3\xa9\\\xc3\xa9"
                     "b/c\nac\n/ # ");
    free(out);
    out = type(&sh, &v, "\x7f\x7fx\n"); /* nothing to erase */
    CHECK_STREQ(out, "x\nsh: x: not found\n/ # ");
    free(out);

    /* An open quote or a trailing backslash continues the command on the next line. */
    out = type(&sh, &v, "echo 'a\nb' c\\\nd\n");
    CHECK_STREQ(out, "echo 'a\n> b' c\\\n> d\na\nb cd\n/ # ");
    free(out);
    /* Erase stops at the start of the continued line. */
    out = type(&sh, &v, "echo \"x\ny\x7f\x7f\x7f\"\n");
    CHECK_STREQ(out, "echo \"x\n> y\\y/\"\nx\n\n/ # ");
    free(out);

    /* Control characters: ^C drops the line, ^U kills it, others echo as ^X. */
    out = type(&sh, &v, "echo lost\x03");
    CHECK_STREQ(out, "echo lost^C\n/ # ");
    free(out);
    out = type(&sh, &v, "echo $?\n");
    CHECK_STREQ(out, "echo $?\n130\n/ # ");
    free(out);
    out = type(&sh, &v,
               "junk\x15"
               "echo \x1b[A\n");
    CHECK_STREQ(out, "junk^U\necho ^[[A\n\x1b[A\n/ # ");
    free(out);
    out = type(&sh, &v, "\x04");
    CHECK_STREQ(out, "");
    free(out);

    /* The line bound: typing beyond it is dropped, and the line still ends. */
    char *big = malloc(TEST_DRV_SHELL_LINE_MAX + 100);
    memset(big, 'z', TEST_DRV_SHELL_LINE_MAX + 99);
    big[TEST_DRV_SHELL_LINE_MAX + 99] = '\0';
    test_drv_shell_type(&sh, "echo ", 5);
    CHECK_INTEQ(test_drv_shell_type(&sh, big, strlen(big)), strlen(big));
    xbuf o = XBUF_INIT;
    test_drv_shell_run(&sh, &v, &o);
    CHECK_INTEQ(sh.line_len, TEST_DRV_SHELL_LINE_MAX - 1);
    xbuf_reset(&o);
    test_drv_shell_type(&sh, "\n", 1);
    test_drv_shell_run(&sh, &v, &o);
    CHECK_INTEQ(o.len, 1 + (TEST_DRV_SHELL_LINE_MAX - 1 - 5) + 1 + strlen(TEST_DRV_SHELL_PROMPT));
    xbuf_clear(&o);
    free(big);

    /* The typeahead bound; a NUL is taken and dropped. */
    char *fill = malloc(TEST_DRV_SHELL_TYPEAHEAD_MAX + 10);
    memset(fill, ' ', TEST_DRV_SHELL_TYPEAHEAD_MAX + 10);
    CHECK_INTEQ(test_drv_shell_type(&sh, fill, TEST_DRV_SHELL_TYPEAHEAD_MAX + 10),
                TEST_DRV_SHELL_TYPEAHEAD_MAX);
    CHECK_INTEQ(test_drv_shell_type(&sh, "x", 1), 0);
    free(fill);
    test_drv_shell_clear(&sh);
    CHECK_INTEQ(test_drv_shell_type(&sh, "ab\0cd", 5), 5);
    CHECK_INTEQ(sh.typeahead_len, 4);
    CHECK(memcmp(sh.typeahead, "abcd", 4) == 0);
    test_drv_shell_clear(&sh);
    CHECK_INTEQ(test_drv_shell_type(&sh, "\0", 1), 1);
    CHECK_INTEQ(sh.typeahead_len, 0);
    test_drv_shell_clear(&sh);
}

/* ---- files and builtins ---- */

static void test_files(void)
{
    test_drv_shell sh = {0};
    test_drv_shell_view v = make_view();
    char *out = run(&sh, &v, "cat /proc/cpuinfo");
    CHECK_CONTAINS(out, "processor\t: 0\n");
    CHECK_CONTAINS(out, "processor\t: 2\n");
    CHECK(strstr(out, "processor\t: 3") == NULL);
    CHECK_CONTAINS(out, "model name\t: Test CPU\n");
    CHECK_CONTAINS(out, "cpu MHz\t\t: 2000.000\n");
    free(out);
    out = run(&sh, &v, "cat /proc/meminfo");
    CHECK_CONTAINS(out, "MemTotal:         131072 kB\n");
    free(out);
    CHECK_RUN(&sh, &v, "cat /proc/partitions",
              "major minor  #blocks  name\n\n"
              " 202        0    1048576 xvda\n"
              " 202       17       2048 xvdb1\n"
              "  22        0        512 hdc\n"
              "   8       16       1024 sdb\n"
              " 254      416          4 vdaa\n"
              "   0        5          8 odd\n");
    CHECK_RUN(&sh, &v, "cat /proc/uptime", "3723.45 10946.94\n");
    CHECK_RUN(&sh, &v, "uptime", " 22:13:20 up  1:02,  load average: 0.06, 0.06, 0.06\n");
    CHECK_RUN(&sh, &v, "cat /proc/xen/balloon",
              "Current allocation:   131072 kB\nRequested target:     131072 kB\n"
              "Low-mem balloon:      131072 kB\nHigh-mem balloon:          0 kB\n"
              "Driver pages:              0 kB\n");
    CHECK_RUN(&sh, &v, "ls /",
              "bin  dev  etc  home  lib  mnt  proc  root  run  sbin  sys  tmp  "
              "usr  var\n");
    CHECK_RUN(&sh, &v, "ls -1 /proc/xen /etc/hostname", "/proc/xen:\nballoon\n/etc/hostname\n");
    CHECK_RUN(&sh, &v, "ls /sys/class/net", "eth0  eth1  lo\n");
    CHECK_RUN(&sh, &v, "ls /sys/class/net/eth1", "address  mtu  operstate\n");
    CHECK_RUN(&sh, &v, "cat /sys/class/net/eth1/address /sys/class/net/lo/mtu",
              "00:16:3e:00:00:01\n65536\n");
    CHECK_RUN(&sh, &v, "ls /sys/class/net/eth2 /sys/class/net/eth01",
              "ls: /sys/class/net/eth2: No such file or directory\n"
              "ls: /sys/class/net/eth01: No such file or directory\n");
    CHECK_RUN(&sh, &v, "cat etc/../etc//./hostname; cat /etc",
              "web\ncat: read error: Is a directory\n");
    CHECK_RUN(&sh, &v, "ls /dev",
              "console  hdc  null  odd  sdb  tty  ttyS0  vdaa  xvda  xvdb1  zero\n");
    CHECK_RUN(&sh, &v, "cat /dev/zero /bin/sh; echo $?", "0\n");
    CHECK_RUN(&sh, &v, "ls ../..",
              "bin  dev  etc  home  lib  mnt  proc  root  run  sbin  sys  tmp  "
              "usr  var\n");
    CHECK_RUN(&sh, &v, "ls /tmp; echo $?", "0\n");
    CHECK_RUN(&sh, &v, "cat /proc/nope; echo $?",
              "cat: can't open '/proc/nope': No such file or directory\n1\n");
    CHECK_RUN(&sh, &v, "hostname; hostname x",
              "web\nhostname: sethostname: Operation not permitted\n");
    CHECK_RUN(&sh, &v, "uname; uname -nrm; uname -q",
              "Linux\nweb 6.1.0-xend-sim x86_64\nuname: invalid option -- 'q'\n");
    CHECK_RUN(&sh, &v, "pwd; whoami", "/\nroot\n");
    CHECK_RUN(&sh, &v, "sleep; sleep 1.5s 2; sleep 1x",
              "sleep: missing operand\nsleep: invalid number '1x'\n");
    out = run(&sh, &v, "free -m");
    CHECK_CONTAINS(out, "Mem:            128          12");
    free(out);

    /* dmesg: the kernel's (timestamped) lines of the console. */
    xring_printf(&console_ring, "[    0.000001] Linux version x\nlogin: \n/ # echo\n");
    CHECK_RUN(&sh, &v, "dmesg", "[    0.000001] Linux version x\n");

    /* Device numbers as Linux gives them. */
    unsigned ma = 0, mi = 0;
    CHECK(test_drv_fs_devnum("xvdp15", &ma, &mi) && ma == 202 && mi == 255);
    CHECK(test_drv_fs_devnum("hdd63", &ma, &mi) && ma == 22 && mi == 127);
    CHECK(test_drv_fs_devnum("hde", &ma, &mi) && ma == 33 && mi == 0);
    CHECK(test_drv_fs_devnum("sdq", &ma, &mi) && ma == 65 && mi == 0);
    CHECK(test_drv_fs_devnum("sdz", &ma, &mi) && ma == 65 && mi == 144);
    CHECK(test_drv_fs_devnum("sdaa1", &ma, &mi) && ma == 65 && mi == 161);
    CHECK(test_drv_fs_devnum("vdb3", &ma, &mi) && ma == 254 && mi == 19);
    CHECK(!test_drv_fs_devnum("xvda16", &ma, &mi));
    CHECK(!test_drv_fs_devnum("vda0", &ma, &mi));
    CHECK(!test_drv_fs_devnum("vd", &ma, &mi));
    CHECK(!test_drv_fs_devnum("sr0", &ma, &mi));
    CHECK(!test_drv_fs_devnum("xvda1x", &ma, &mi));

    char path[32];
    CHECK(test_drv_fs_path("a/./b//../c/", path, sizeof(path)) && strcmp(path, "/a/c") == 0);
    CHECK(test_drv_fs_path("../../..", path, sizeof(path)) && strcmp(path, "/") == 0);
    CHECK(!test_drv_fs_path("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", path, sizeof(path)));
    test_drv_shell_clear(&sh);
}

/* ---- bounds ---- */

static void test_bounds(void)
{
    test_drv_shell sh = {0};
    test_drv_shell_view v = make_view();
    const char *why = NULL;
    for (int i = 0; i < TEST_DRV_SHELL_VARS_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "v%d", i);
        CHECK_INTEQ(test_drv_shell_var_set(&sh, name, "x", 1, false, &why), 0);
    }
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "more", "x", 1, false, &why), -1);
    CHECK_CONTAINS(why, "too many");
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "v1", "yy", 2, true, &why), 0); /* replacing is fine */
    CHECK_RUN(&sh, &v, "more=1", "sh: more: too many variables\n");
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "1a", "x", 1, false, &why), -1);
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "a-b", "x", 1, false, &why), -1);
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "v2", "a\0b", 3, false, &why), -1);
    test_drv_shell_clear(&sh);

    char *big = malloc(TEST_DRV_SHELL_VALUE_MAX + 2);
    memset(big, 'q', TEST_DRV_SHELL_VALUE_MAX + 1);
    big[TEST_DRV_SHELL_VALUE_MAX + 1] = '\0';
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "a", big, TEST_DRV_SHELL_VALUE_MAX + 1, false, &why),
                -1);
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "a", big, TEST_DRV_SHELL_VALUE_MAX, false, &why), 0);
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "b", big, TEST_DRV_SHELL_VALUE_MAX, false, &why), 0);
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "c", big, TEST_DRV_SHELL_VALUE_MAX, false, &why), 0);
    CHECK_INTEQ(test_drv_shell_var_set(&sh, "d", big, TEST_DRV_SHELL_VALUE_MAX, false, &why), -1);
    CHECK_CONTAINS(why, "memory");
    CHECK_RUN(&sh, &v, "echo $a$b$c$a$b", "sh: Argument list too long\n");
    free(big);

    /* Output: a flood is read in parts, the rest waits typed ahead; nothing is lost. */
    test_drv_shell_clear(&sh);
    v.vcpus_online = 64;
    xbuf out = XBUF_INIT;
    unsigned total = 0, rounds = 0;
    for (int i = 0; i < 20; i++)
        test_drv_shell_type(&sh, "cat /proc/cpuinfo\n", 18);
    while (sh.typeahead_len && rounds < 100) {
        xbuf_reset(&out);
        total += test_drv_shell_run(&sh, &v, &out);
        CHECK(out.len <= TEST_DRV_SHELL_OUTPUT_MAX + 64);
        rounds++;
    }
    CHECK_INTEQ(total, 20);
    CHECK(rounds > 1);
    /* One line printing far more is cut, but its prompt still comes. */
    char line[2048] = "";
    for (int i = 0; i < 100; i++)
        strcat(line, "cat /proc/cpuinfo;");
    strcat(line, "\n");
    xbuf_reset(&out);
    test_drv_shell_type(&sh, line, strlen(line));
    CHECK_INTEQ(test_drv_shell_run(&sh, &v, &out), 1);
    CHECK(out.len <= TEST_DRV_SHELL_OUTPUT_MAX + strlen(TEST_DRV_SHELL_PROMPT));
    CHECK(out.len >= strlen(TEST_DRV_SHELL_PROMPT) &&
          strcmp(out.data + out.len - strlen(TEST_DRV_SHELL_PROMPT), TEST_DRV_SHELL_PROMPT) == 0);
    xbuf_clear(&out);
    test_drv_shell_clear(&sh);
}

/* ---- the shell in the guest state ---- */

static test_drv_state base_state(void)
{
    test_drv_state st;
    memset(&st, 0, sizeof(st));
    st.balloon_kib = 65536;
    test_drv_state_vcpus(&st, 1);
    st.vcpus_online = 1;
    return st;
}

static void test_state(void)
{
    test_drv_state st = base_state(), back;
    const char *why;
    CHECK_INTEQ(test_drv_shell_var_set(&st.shell, "foo", "bar baz\n\xc3\xa9", 10, true, &why), 0);
    CHECK_INTEQ(test_drv_shell_var_set(&st.shell, "empty", "", 0, false, &why), 0);
    st.shell.status = 127;
    CHECK_INTEQ(test_drv_shell_line_set(&st.shell, "echo 'open\nquote", 16, &why), 0);
    CHECK_INTEQ(test_drv_shell_typeahead_set(&st.shell, "typed\x7f", 6, &why), 0);
    xbuf text = XBUF_INIT;
    test_drv_state_format(&st, &text);
    CHECK_CONTAINS(text.data, "shell_var=foo x ");
    CHECK_CONTAINS(text.data, "shell_var=empty -\n");
    CHECK_CONTAINS(text.data, "shell_status=127\n");
    CHECK_CONTAINS(text.data, "shell_line=");
    CHECK_CONTAINS(text.data, "shell_typeahead=");
    CHECK_INTEQ(test_drv_state_parse(&back, text.data, text.len, "t"), 0);
    const test_drv_shell_var *foo = test_drv_shell_var_get(&back.shell, "foo");
    CHECK(foo && foo->exported && strcmp(foo->value, "bar baz\n\xc3\xa9") == 0);
    CHECK(test_drv_shell_var_get(&back.shell, "empty") &&
          !test_drv_shell_var_get(&back.shell, "empty")->exported);
    CHECK_INTEQ(back.shell.status, 127);
    CHECK_MEMEQ(back.shell.line, back.shell.line_len, "echo 'open\nquote", 16);
    CHECK_MEMEQ(back.shell.typeahead, back.shell.typeahead_len, "typed\x7f", 6);
    /* A copy (what the snapshot takes) formats the same. */
    test_drv_state copy = base_state();
    test_drv_shell_copy(&copy.shell, &back.shell);
    xbuf again = XBUF_INIT;
    test_drv_state_format(&copy, &again);
    CHECK_STREQ(again.data, text.data);
    test_drv_state_clear(&copy);
    test_drv_state_clear(&back);
    xbuf_clear(&again);

    /* A fresh shell writes nothing: the state reads in an xend without shell keys. */
    test_drv_state plain = base_state();
    xbuf_reset(&text);
    test_drv_state_format(&plain, &text);
    CHECK(strstr(text.data, "shell") == NULL);
    test_drv_state_clear(&plain);

    /* Refusals name the key and the line. */
    static const struct {
        const char *line, *needle;
    } bad[] = {
        {"shell_var=foo", "NAME x|-"},
        {"shell_var=foo y YQ==", "NAME x|-"},
        {"shell_var=foo x ", "NAME x|-"},
        {"shell_var=1foo x YQ==", "bad variable name"},
        {"shell_var=foo x !!!", "base64"},
        {"shell_var=foo x YQBi", "NUL"},
        {"shell_var=foo x YQ==\nshell_var=foo - Yg==", "twice"},
        {"shell_status=256", "out of range"},
        {"shell_status=1\nshell_status=2", "twice"},
        {"shell_line=YQBi", "NUL"},
        {"shell_typeahead=@@", "base64"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        xbuf_reset(&text);
        xbuf_printf(&text, "balloon_kib=1\nvcpus_online=1\nvcpu=0 0 01\n%s\n", bad[i].line);
        test_drv_state s2;
        CHECK_INTEQ(test_drv_state_parse(&s2, text.data, text.len, "img"), -1);
        CHECK_ERROR(XEND_ERR_CONFIG_INVALID, bad[i].needle);
        unsigned last = 4;
        for (const char *c = bad[i].line; *c; c++)
            last += *c == '\n';
        CHECK_ERROR_LINE(last);
    }
    /* Too many variables, and too long a line. */
    xbuf_reset(&text);
    xbuf_adds(&text, "balloon_kib=1\nvcpus_online=1\nvcpu=0 0 01\n");
    for (int i = 0; i <= TEST_DRV_SHELL_VARS_MAX; i++)
        xbuf_printf(&text, "shell_var=v%d -\n", i);
    test_drv_state s3;
    CHECK_INTEQ(test_drv_state_parse(&s3, text.data, text.len, "img"), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "too many");
    xbuf_reset(&text);
    xbuf_adds(&text, "balloon_kib=1\nvcpus_online=1\nvcpu=0 0 01\nshell_line=");
    for (int i = 0; i < TEST_DRV_SHELL_LINE_MAX / 3 + 1; i++)
        xbuf_adds(&text, "YWFh");
    CHECK_INTEQ(test_drv_state_parse(&s3, text.data, text.len, "img"), -1);
    CHECK_ERROR(XEND_ERR_CONFIG_INVALID, "shell_line");
    xbuf_clear(&text);
    test_drv_state_clear(&st);
}

/* ---- random input ---- */

static uint32_t rng = 12345;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void test_random_input(void)
{
    static const char *const pieces[] = {
        "echo ", "cat ",     "ls ",  "/proc/", "cpuinfo", "$",    "${",      "}",      "$?",  "'",
        "\"",    "\\",       ";",    "=",      "a",       "A_1",  " ",       "\t",     "\n",  "\r",
        "\x7f",  "\x03",     "\x15", "\x1b",   "#",       "|",    "export ", "unset ", "set", "env",
        "x=",    "\xc3\xa9", "\xff", "\x80",   "dmesg",   "free", "uptime",  "sleep ", "..",  "/",
        "//",    "help",     "exit", "$$",     "${?}",    "${#}",
    };
    test_drv_shell_view v = make_view();
    test_drv_shell sh = {0};
    xbuf out = XBUF_INIT;
    for (int round = 0; round < 3000; round++) {
        char buf[600];
        size_t n = 0;
        while (n < sizeof(buf) - 16) {
            const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t len = strlen(p);
            memcpy(buf + n, p, len);
            n += len;
            if (rnd() % 8 == 0)
                break;
        }
        test_drv_shell_type(&sh, buf, n);
        xbuf_reset(&out);
        test_drv_shell_run(&sh, &v, &out);
        CHECK(out.len <= TEST_DRV_SHELL_OUTPUT_MAX + 4096);
        CHECK(sh.line_len < TEST_DRV_SHELL_LINE_MAX);
        CHECK(sh.nvars <= TEST_DRV_SHELL_VARS_MAX);
        CHECK(sh.var_bytes <= TEST_DRV_SHELL_VARS_BYTES);
        CHECK(sh.status <= 255);
        if (round % 100 == 99) {
            /* Whatever state it is in, the state saves and reads back. */
            test_drv_state st = base_state(), back;
            test_drv_shell_copy(&st.shell, &sh);
            xbuf text = XBUF_INIT;
            test_drv_state_format(&st, &text);
            CHECK_INTEQ(test_drv_state_parse(&back, text.data, text.len, "r"), 0);
            test_drv_state_clear(&back);
            test_drv_state_clear(&st);
            xbuf_clear(&text);
        }
    }
    /* Whatever it was left in, it comes back to a prompt and runs a command. */
    test_drv_shell_type(&sh, "\x03", 1);
    test_drv_shell_run(&sh, &v, &out);
    while (sh.typeahead_len)
        test_drv_shell_run(&sh, &v, &out);
    CHECK_RUN(&sh, &v, "echo ok", "ok\n");
    xbuf_clear(&out);
    test_drv_shell_clear(&sh);
}

int main(void)
{
    xring_init(&console_ring, TEST_DRV_RING_MAX);
    test_grammar();
    test_tty();
    test_files();
    test_bounds();
    test_state();
    test_random_input();
    xring_free(&console_ring);
    return check_summary("driver-shell");
}
