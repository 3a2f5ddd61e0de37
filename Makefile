# alknet — see README.md.
#
#   make                 ./alknet against the system BearSSL (Debian: libbearssl-dev)
#   make BEARSSL_SRC=DIR build BearSSL from a source tree instead (into build/)
#   make check           the whole test suite; ends with "N passed, N failed"
#   make check-asan      the suite again, alknet built with ASan + UBSan (clang)
#   make fuzz            every libFuzzer target for FUZZ_SECONDS (default 60) each
#   make check-valgrind  the suite with less data, alknet under valgrind memcheck
#   make fuzz-replay     every corpus input once, under ASan + UBSan (CI)
#   make static          build/x86_64/alknet: static musl, BearSSL from Debian's source
#   make cross ARCH=A    build/A/alknet for A = aarch64, armv7, mipsel or mips
#   make size            the size of every static binary built so far
#   make check-static    the whole suite against the static x86_64 binary
#   make check-cross     each cross binary under qemu-user against a native peer
#   make bench           alknet beside OpenSSH, Dropbear and shadowsocks (BENCH_ARGS=--quick)
#   make install         ./alknet and its man page under PREFIX (/usr/local), DESTDIR
#   make uninstall       removes what make install put there
#   make clean

CC ?= cc
OPT ?= -O2
WARN = -std=c99 -Wall -Wextra -Wshadow -Wconversion -pedantic
CFLAGS ?= $(OPT)
LDFLAGS ?=
PYTHON ?= python3
B = build

ifeq ($(BEARSSL_SRC),)
  BR_CPPFLAGS =
  BR_LIBS = -lbearssl
  BR_LIB =
else
  BR_DIR = $(B)/bearssl-src
  BR_CPPFLAGS = -I$(BEARSSL_SRC)/inc
  BR_LIB = $(BR_DIR)/libbearssl.a
  BR_LIBS = $(BR_LIB)
  BR_SRCS := $(wildcard $(BEARSSL_SRC)/src/*.c $(BEARSSL_SRC)/src/*/*.c)
  BR_OBJS := $(patsubst $(BEARSSL_SRC)/src/%.c,$(BR_DIR)/obj/%.o,$(BR_SRCS))
  ifeq ($(BR_SRCS),)
    $(error BEARSSL_SRC=$(BEARSSL_SRC) holds no BearSSL sources (expected src/*.c and inc/))
  endif
endif

SRC = alknet.c alknet.h
# Changing CC, CFLAGS or the BearSSL source relinks (the stamp's name changes).
STAMP := $(B)/config.$(shell echo '$(CC) $(CFLAGS) $(LDFLAGS) $(BEARSSL_SRC)' | cksum | cut -d' ' -f1)

.PHONY: all check check-asan check-valgrind unit clean bench
all: alknet

$(STAMP):
	@mkdir -p $(B) && rm -f $(B)/config.* && touch $@

alknet: $(SRC) $(BR_LIB) $(STAMP)
	$(CC) $(WARN) $(CFLAGS) $(BR_CPPFLAGS) -o $@ alknet.c $(LDFLAGS) $(BR_LIBS)

UNITS = unit unit_policy unit_dns unit_tls unit_proxy unit_abuse
$(UNITS:%=$(B)/%): $(B)/%: tests/%.c tests/unit.h tests/fuzz/fuzz.h $(SRC) $(BR_LIB) $(STAMP)
	@mkdir -p $(B)
	$(CC) $(WARN) $(CFLAGS) -g $(BR_CPPFLAGS) -o $@ $< $(LDFLAGS) $(BR_LIBS)

$(B)/blast: tests/blast.c
	@mkdir -p $(B)
	$(CC) -std=c99 -Wall -Wextra -pedantic -O2 -o $@ tests/blast.c

unit: $(UNITS:%=$(B)/%)

check: alknet $(UNITS:%=$(B)/%) $(B)/blast
	ALKNET=./alknet UNIT=$(B)/unit BLAST=$(B)/blast $(PYTHON) tests/run.py $(TESTS)

# Sanitizers: clang, and BearSSL from the system (not instrumented; its
# unaligned fast paths would otherwise trip UBSan's alignment check).
SAN = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
SANCC ?= clang
$(B)/asan/alknet: $(SRC) $(BR_LIB)
	@mkdir -p $(B)/asan
	$(SANCC) $(WARN) $(SAN) $(BR_CPPFLAGS) -o $@ alknet.c $(BR_LIBS)
$(UNITS:%=$(B)/asan/%): $(B)/asan/%: tests/%.c tests/unit.h tests/fuzz/fuzz.h $(SRC) $(BR_LIB)
	@mkdir -p $(B)/asan
	$(SANCC) $(WARN) $(SAN) $(BR_CPPFLAGS) -o $@ $< $(BR_LIBS)

check-asan: $(B)/asan/alknet $(UNITS:%=$(B)/asan/%) $(B)/blast
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ALKNET=$(B)/asan/alknet UNIT=$(B)/asan/unit BLAST=$(B)/blast \
	$(PYTHON) tests/run.py $(TESTS)

# Fuzzing (tests/fuzz/): libFuzzer targets built from alknet.c with
# -DALKNET_FUZZ; seeds in tests/fuzz/corpus/NAME/, new inputs in build/fuzz/work/.
FUZZ_TARGETS = server client socks dns keys config tls proxy
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FUZZCC ?= clang
FUZZFLAGS = -std=c99 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Wall -Wextra -Wshadow
FUZZ_DEPS = tests/fuzz/fuzz.h $(SRC) $(BR_LIB)
$(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%): $(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZCC) $(FUZZFLAGS) $(BR_CPPFLAGS) -o $@ $< $(BR_LIBS)
$(FUZZ_TARGETS:%=$(B)/fuzz/seeds_%): $(B)/fuzz/seeds_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZCC) -std=c99 -g -O1 -DFUZZ_SEEDS $(BR_CPPFLAGS) -o $@ $< $(BR_LIBS)

.PHONY: fuzz fuzz-replay fuzz-corpus fuzz-merge
fuzz: $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(B)/fuzz/work/$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  ( cd $(B)/fuzz && ./fuzz_$$t work/$$t $(CURDIR)/tests/fuzz/corpus/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -jobs=$(FUZZ_JOBS) -workers=$(FUZZ_JOBS) \
	    -print_final_stats=1 -artifact_prefix=./ > run-$$t.log 2>&1 ); st=$$?; \
	  grep -hE "^#|^stat::|ERROR|SUMMARY|Test unit written" $(B)/fuzz/run-$$t.log \
	    $(B)/fuzz/fuzz-*.log 2>/dev/null | tail -12; rm -f $(B)/fuzz/fuzz-*.log; \
	  [ $$st -eq 0 ] || { echo "fuzz_$$t: FAILED ($(B)/fuzz/run-$$t.log)"; exit 1; }; \
	done
fuzz-replay: $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	  n=$$(ls tests/fuzz/corpus/$$t | wc -l); \
	  $(B)/fuzz/fuzz_$$t -runs=0 tests/fuzz/corpus/$$t > $(B)/fuzz/replay-$$t.log 2>&1 \
	    && echo "fuzz_$$t: $$n corpus inputs replayed, no finding" \
	    || { tail -30 $(B)/fuzz/replay-$$t.log; echo "fuzz_$$t: FAILED"; exit 1; }; \
	done
fuzz-corpus: $(FUZZ_TARGETS:%=$(B)/fuzz/seeds_%)
	$(PYTHON) tests/fuzz/make_corpus.py $(B)/fuzz $(FUZZ_TARGETS)
# adds what the fuzzers found (build/fuzz/work) to the committed corpus, minimized
fuzz-merge: $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	  $(B)/fuzz/fuzz_$$t -merge=1 tests/fuzz/corpus/$$t $(B)/fuzz/work/$$t 2>&1 | grep -E "MERGE-OUTER: [0-9]+ new"; \
	done

# The suite with alknet (and the unit programs) under valgrind memcheck,
# moving less data (ALK_SMALL) through the same code paths.
check-valgrind: alknet $(UNITS:%=$(B)/%) $(B)/blast
	ALKNET=tests/valgrind-alknet ALKNET_REAL=$(CURDIR)/alknet ALK_SMALL=1 ALK_VALGRIND_UNITS=1 \
	UNIT=$(B)/unit BLAST=$(B)/blast $(PYTHON) tests/run.py $(TESTS)

# alknet beside OpenSSH, Dropbear, shadowsocks and no tunnel: one table
# (bench/run.py; BENCH_ARGS="--quick" for a smoke run, --help for the rest).
# Installs the peers it compares with first; a case whose software is
# missing shows n/a.
bench: alknet $(B)/blast
	scripts/deps.sh --bench || echo "bench: could not install the peers; their cases show n/a"
	ALKNET=./alknet BLAST=$(B)/blast $(PYTHON) bench/run.py $(BENCH_ARGS)

ifneq ($(BEARSSL_SRC),)
$(BR_LIB): $(BR_OBJS)
	rm -f $@
	$(AR) rcs $@ $^
$(BR_DIR)/obj/%.o: $(BEARSSL_SRC)/src/%.c
	@mkdir -p $(@D)
	$(CC) $(OPT) -I$(BEARSSL_SRC)/src -I$(BEARSSL_SRC)/inc -c $< -o $@
endif

# ---------------------------------------------------------------- routers
# Static musl binaries (toolchain.md): BearSSL and musl from Debian's source
# packages (scripts/fetch-sources.sh), musl built per CPU (x86_64 too) with
# Debian's gcc for that CPU (scripts/build-musl.sh), everything per CPU
# under build/ARCH/ and reused. MIPS is soft-float: router CPUs have no
# FPU. Tests run the binaries under qemu-user (check-cross); mips32r2 is
# qemu's 24Kc. The binaries are static ET_EXEC (not PIE) either way, so
# everything is compiled -fno-pie: PIC only costs code (a GOT, and $gp
# calls on MIPS). musl is our own -Os build: 21 KB less than Debian's
# musl-tools libc.a on x86_64.
XARCHS = aarch64 armv7 mipsel mips
SRCDIR = $(B)/src
TRIPLE_x86_64 = x86_64-linux-gnu
TRIPLE_aarch64 = aarch64-linux-gnu
TRIPLE_armv7 = arm-linux-gnueabihf
TRIPLE_mipsel = mipsel-linux-gnu
TRIPLE_mips = mips-linux-gnu
XFLAGS_armv7 = -mthumb
XFLAGS_mipsel = -msoft-float
XFLAGS_mips = -msoft-float
XLDFLAGS_aarch64 = -Wl,-z,max-page-size=4096
QEMU_aarch64 = qemu-aarch64-static
QEMU_armv7 = qemu-arm-static -cpu cortex-a7
QEMU_mipsel = qemu-mipsel-static -cpu 24Kc
QEMU_mips = qemu-mips-static -cpu 24Kc
XOPT = -Os -fno-pie -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables
XLD = -static -no-pie -s -Wl,--gc-sections -Wl,--build-id=none
# alknet.c itself at -Oz: 2.2 KB less on x86_64 (the same code on ARM and
# MIPS), no speed lost in its hot code (unit bench: Poly1305 the same,
# Ed25519 +3%). BearSSL stays -Os: its AES and GHASH fallbacks are hot loops.
XALKOPT = -Oz

.PHONY: static cross size readme-sizes check-static check-cross sources
sources:
	scripts/fetch-sources.sh $(SRCDIR)
static: sources
	$(MAKE) --no-print-directory xbuild XARCH=x86_64
cross: sources
	@case " $(XARCHS) " in *" $(ARCH) "*) ;; \
	  *) echo "usage: make cross ARCH=A, A one of: $(XARCHS)"; exit 2;; esac
	$(MAKE) --no-print-directory xbuild XARCH=$(ARCH)
# the whole suite against the static x86_64 binary
check-static: static $(UNITS:%=$(B)/%) $(B)/blast
	ALKNET=$(B)/x86_64/alknet UNIT=$(B)/unit BLAST=$(B)/blast $(PYTHON) tests/run.py $(TESTS)
check-cross: alknet $(B)/blast sources
	@for a in x86_64 $(XARCHS); do $(MAKE) --no-print-directory xbuild XARCH=$$a || exit 1; done
	@$(MAKE) --no-print-directory size
	ALKNET=./alknet BLAST=$(B)/blast ALK_CROSS="$(XARCHS)" $(PYTHON) tests/run.py -k test_cross
size:
	@scripts/size-table.sh
# rewrites the README's size table from the binaries (never typed by hand)
readme-sizes:
	@scripts/size-table.sh > $(B)/sizes.md
	$(PYTHON) -c 'import re,sys; r=open("README.md").read(); t=open("$(B)/sizes.md").read(); \
	  open("README.md","w").write(re.sub(r"(<!-- sizes -->\n).*?(<!-- /sizes -->)", \
	  lambda m: m.group(1)+t+m.group(2), r, flags=re.S))'


ifneq ($(XARCH),)
XB = $(B)/$(XARCH)
XMUSL = $(B)/musl/$(XARCH)
XCC = $(XMUSL)/bin/musl-gcc
XCFLAGS = $(XFLAGS_$(XARCH)) $(XOPT)
XMUSL_CFLAGS = $(XFLAGS_$(XARCH)) -fno-pie
# stamps named after the flags: changing them rebuilds musl / BearSSL
XMUSL_STAMP := $(XMUSL)/stamp.$(shell echo '$(XMUSL_CFLAGS)' | cksum | cut -d' ' -f1)
XBR_STAMP := $(XB)/stamp.$(shell echo '$(XCFLAGS)' | cksum | cut -d' ' -f1)
XBR_SRCS := $(wildcard $(SRCDIR)/bearssl/src/*.c $(SRCDIR)/bearssl/src/*/*.c)
XBR_OBJS := $(patsubst $(SRCDIR)/bearssl/src/%.c,$(XB)/bearssl/%.o,$(XBR_SRCS))
.PHONY: xbuild
xbuild: $(XB)/alknet
$(XB)/alknet: $(SRC) $(XB)/libbearssl.a $(XMUSL_STAMP) Makefile
	$(XCC) $(WARN) $(XCFLAGS) $(XALKOPT) -isystem $(SRCDIR)/bearssl/inc $(XLD) $(XLDFLAGS_$(XARCH)) -o $@ alknet.c \
	  $(XB)/libbearssl.a
$(XB)/libbearssl.a: $(XBR_OBJS)
	rm -f $@
	$$($(XCC) -print-prog-name=ar) rcs $@ $^
$(XB)/bearssl/%.o: $(SRCDIR)/bearssl/src/%.c $(XBR_STAMP) | $(XMUSL_STAMP)
	@mkdir -p $(@D)
	$(XCC) $(XCFLAGS) -I$(SRCDIR)/bearssl/src -I$(SRCDIR)/bearssl/inc -c $< -o $@
$(XBR_STAMP):
	@mkdir -p $(XB) && rm -f $(XB)/stamp.* && touch $@
$(XMUSL_STAMP):
	rm -f $(XMUSL)/stamp.*
	scripts/build-musl.sh $(SRCDIR)/musl $(TRIPLE_$(XARCH)) $(CURDIR)/$(XMUSL) "$(XMUSL_CFLAGS)"
	touch $@
endif

# Installs what make built (rebuilt only if out of date): the binary and
# docs/alknet.1. DESTDIR stages the tree for a package.
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
MAN1DIR = $(PREFIX)/share/man/man1
.PHONY: install uninstall
install: alknet
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN1DIR)
	install -m 755 alknet $(DESTDIR)$(BINDIR)/alknet
	install -m 644 docs/alknet.1 $(DESTDIR)$(MAN1DIR)/alknet.1
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/alknet $(DESTDIR)$(MAN1DIR)/alknet.1

clean:
	rm -rf alknet $(B)
