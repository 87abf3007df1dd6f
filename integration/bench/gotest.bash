# Sourced by the netns benchmark scripts (takeover.sh, stability.sh): run one
# Go benchmark test of ./integration as root, with LVSHA_BENCH=1, on the
# lvs-ha binary given as the script's first argument (else LVSHA_BIN), and
# exit with its status. Not a *.sh file, so compare.sh does not run it.
#   bench_gotest SCRIPT_NAME TEST_NAME TIMEOUT [LVS_HA_BINARY]
bench_gotest() {
	local script=$1 test=$2 timeout=$3
	shift 3
	cd "$(dirname "${BASH_SOURCE[0]}")/../.."
	if [ "$(id -u)" != 0 ]; then
		echo "$script needs root (it builds a network-namespace lab)" >&2
		exit 1
	fi
	if [ $# -ge 1 ]; then
		LVSHA_BIN=$(readlink -f "$1")
		export LVSHA_BIN
	fi
	export LVSHA_BENCH=1 LVSHA_REQUIRE_ROOT_TESTS=1
	set +e
	"${GO:-go}" test -count=1 -p 1 -timeout "$timeout" -v -run "^$test\$" ./integration/ 2>&1 |
		grep --line-buffered -v -e '^=== RUN' -e '^=== PAUSE' -e '^=== CONT'
	exit "${PIPESTATUS[0]}"
}
