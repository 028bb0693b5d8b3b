#!/bin/sh
# build.sh — builds the libFuzzer targets (clang -fsanitize=fuzzer,address,undefined) against the sources they
# need, seeds a corpus and a dictionary for each, runs each for N seconds (first argument, default 20) and
# prints the number of executions. Exits non-zero if a target does not build or finds a crash/leak/UB.
# Output goes to $FUZZ_BUILD (default build-fuzz at the repository root); crash inputs land in its artifacts/.
set -eu

SECONDS_PER_TARGET=${1:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_BUILD:-$ROOT/build-fuzz}
FUZZ_CC=${FUZZ_CC:-clang}

CFLAGS="-std=c17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -Wall -Wextra -Werror -D_GNU_SOURCE -I$ROOT/include $(pkg-config --cflags jansson)"
LIBS="$(pkg-config --libs jansson) -lm"
CORE="src/core/alloc.c src/core/buf.c src/core/error.c src/core/utf8.c"

# target name -> the sources it links (besides its own file and CORE)
sources_for() {
    case "$1" in
    fuzz_parse) echo "src/http/parse.c" ;;
    fuzz_multipart) echo "src/http/multipart.c src/http/parse.c" ;;
    *) echo "unknown fuzz target $1" >&2; exit 2 ;;
    esac
}
TARGETS="fuzz_parse fuzz_multipart"

mkdir -p "$OUT/artifacts"
cd "$ROOT"
for t in $TARGETS; do
    echo "== building $t"
    # shellcheck disable=SC2086
    $FUZZ_CC $CFLAGS "tests/fuzz/$t.c" $(sources_for "$t") $CORE -o "$OUT/$t" $LIBS
done

# ---- seeds and dictionaries (regenerated each run; the corpus directories keep what the fuzzer found) ----
seed() { # seed <target> <name> <printf-format>
    mkdir -p "$OUT/seeds/$1"
    # shellcheck disable=SC2059
    printf "$3" > "$OUT/seeds/$1/$2"
}
seed fuzz_parse form 'title=Hello+World%%21&tags=a%%2Bb&empty=&flag&caf%%C3%%A9=%%E2%%82%%AC'
seed fuzz_parse bad_escape 'a=%%zz&b=%%2&c=%%00&d=%%ff'
seed fuzz_parse cookies 'a=1; b="quoted"; __Host-ar_session=abc; =x; novalue'
seed fuzz_parse content_type 'multipart/form-data; boundary="----WebKit \\"x\\""; charset=UTF-8'
seed fuzz_parse disposition 'form-data; name="f"; filename="C:\\dir\\a.txt"; filename*=UTF-8'"''"'%%E2%%82%%AC.txt'
seed fuzz_parse json_object '{"title":"caf\303\251","n":[1,2.5,-3e10,true,null],"o":{"k":"\\u00e9\\"\\\\"}}'
seed fuzz_parse json_deep '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'
seed fuzz_parse json_bad '{"a":1,"a":"\\u0000","b":1e400,"c":"\377"}'
seed fuzz_parse utf8 'ok \303\251 \342\202\254 \360\237\230\200 \355\240\200 \300\200 \364\220\200\200'
# multipart seeds: first byte picks the boundary (low 2 bits: 0 "b", 1 "XbX", 2 WebKit, 3 bchars) and chunking
seed fuzz_multipart two_fields '\001preamble\r\n--XbX\r\nContent-Disposition: form-data; name="title"\r\n\r\nWeekly\r\n--XbX\r\ncontent-disposition: form-data; name="f"; filename="..\\\\a/b.pdf"\r\nContent-Type: application/pdf\r\n\r\n%%PDF\r\n--Xb\r\n\r\n--XbX--\r\nepilogue'
seed fuzz_multipart star '\000--b \r\nContent-Disposition: form-data; name=f; filename="x"; filename*=UTF-8'"''"'%%E2%%82%%AC.txt\r\n\r\n\r\r\n--b\r\n--b--'
seed fuzz_multipart webkit '\002------WebKitFormBoundaryQ7a\r\nContent-Disposition: form-data; name="a\\"b"\r\n\r\nv\r\n------WebKitFormBoundaryQ7a--\r\n'
seed fuzz_multipart lf_only '\000--b\nContent-Disposition: form-data; name="a"\n\nv\n--b--\n'

cat > "$OUT/fuzz_parse.dict" <<'EOF'
"%"
"%00"
"%25"
"%zz"
"+"
"&"
"="
";"
"\""
"\\"
"/"
"multipart/form-data"
"boundary="
"charset="
"filename*="
"UTF-8''"
"["
"]"
"{"
"}"
"\\u0000"
"\\ud800"
"1e400"
"99999999999999999999"
"true"
"null"
"\xc3\xa9"
"\xed\xa0\x80"
"\xf4\x90\x80\x80"
"\xf0\x9f\x98\x80"
EOF
cat > "$OUT/fuzz_multipart.dict" <<'EOF'
"\x0d\x0a"
"\x0d\x0a\x0d\x0a"
"--"
"\x0d\x0a--b"
"\x0d\x0a--XbX"
"\x0d\x0a--XbX--"
"Content-Disposition: "
"form-data"
"; name="
"; filename="
"; filename*=UTF-8''"
"Content-Type: "
"\""
"\\"
"%E2%82%AC"
EOF

# ---- run ----
status=0
summary=""
for t in $TARGETS; do
    mkdir -p "$OUT/corpus/$t"
    log="$OUT/$t.log"
    echo "== running $t for ${SECONDS_PER_TARGET}s"
    set +e
    "$OUT/$t" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -max_len=8192 -timeout=10 \
        -dict="$OUT/$t.dict" -artifact_prefix="$OUT/artifacts/$t-" \
        "$OUT/corpus/$t" "$OUT/seeds/$t" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        line="$t: ${execs:-?} execs in ${SECONDS_PER_TARGET}s (${speed:-?}/s, ${cov:-cov: ?}), no findings"
    else
        status=1
        line="$t: FAILED (exit $rc) after ${execs:-?} execs — see $log and $OUT/artifacts/"
        tail -n 40 "$log"
    fi
    echo "$line"
    summary="$summary$line
"
done
echo "== summary"
printf '%s' "$summary"
exit $status
