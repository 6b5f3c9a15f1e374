package hostparse

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Windows has no documented API for the excluded port ranges, so the collector runs netsh and
// reads its text. netsh translates its words (and prints them in the OEM code page), so these
// parsers key on the layout and the digits only, never on a word:
//
//	netsh int ipv4 show dynamicport tcp         netsh int ipv4 show excludedportrange protocol=tcp
//
//	Protocol tcp Dynamic Port Range             Protocol tcp Port Exclusion Ranges
//	---------------------------------
//	Start Port      : 49152                     Start Port    End Port
//	Number of Ports : 16384                     ----------    --------
//	                                                  5357        5357
//	                                                 50000       50059     *
//
//	                                            * - Administered port exclusions.
//
// The residual risk is a Windows language whose netsh lays these out differently; the error
// then quotes the text so the report shows it.

// colonNumber returns the number of a "label : number" line.
func colonNumber(line string) (string, bool) {
	_, v, ok := strings.Cut(line, ":")
	v = strings.TrimSpace(v)
	return v, ok && isDigits(v)
}

// twoDashRuns reports the "----------    --------" line under the excluded table's header.
func twoDashRuns(line string) bool {
	f := strings.Fields(line)
	return len(f) == 2 && strings.Trim(f[0], "-") == "" && strings.Trim(f[1], "-") == ""
}

// rangeRow returns the numbers of a "  50000   50059   *" row.
func rangeRow(line string) (a, b string, ok bool) {
	f := strings.Fields(line)
	if (len(f) == 2 || len(f) == 3 && f[2] == "*") && isDigits(f[0]) && isDigits(f[1]) {
		return f[0], f[1], true
	}
	return "", "", false
}

// ParseDynamicPortRange reads `netsh int ipv4 show dynamicport tcp|udp`: the two "label :
// number" lines are the first port and the number of ports.
func ParseDynamicPortRange(out string) (wire.PortRange, error) {
	var nums []int
	for _, line := range lines(out) {
		if v, ok := colonNumber(line); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return wire.PortRange{}, fmt.Errorf("netsh printed %q, a number out of range", line)
			}
			nums = append(nums, n)
		}
	}
	if len(nums) != 2 {
		return wire.PortRange{}, fmt.Errorf("netsh printed no dynamic port range (want two \"label : number\" lines, found %d) in %s", len(nums), quote(out))
	}
	r := wire.PortRange{Start: nums[0], End: nums[0] + nums[1] - 1}
	if err := checkRange(r); err != nil || nums[1] < 1 {
		return wire.PortRange{}, fmt.Errorf("netsh printed a dynamic range of %d ports from %d, which is not a valid port range", nums[1], nums[0])
	}
	return r, nil
}

// ParseExcludedPortRanges reads `netsh int ipv4 show excludedportrange protocol=tcp|udp`: the
// rows of two numbers under the line of two dash runs. The trailing * (an administered
// exclusion, made with `netsh ... add excludedportrange`) is not kept: the wire shape has no
// place for it, and both kinds block a bind alike. No rows is a valid, empty answer.
func ParseExcludedPortRanges(out string) ([]wire.PortRange, error) {
	ls := lines(out)
	start := -1
	for i, line := range ls {
		if twoDashRuns(line) {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("netsh printed no excluded port table (no line of two dash runs under the header) in %s", quote(out))
	}
	ranges := []wire.PortRange{}
	for _, line := range ls[start:] {
		as, bs, ok := rangeRow(line)
		if !ok {
			continue
		}
		a, errA := strconv.Atoi(as)
		b, errB := strconv.Atoi(bs)
		r := wire.PortRange{Start: a, End: b}
		if errA != nil || errB != nil || checkRange(r) != nil {
			return nil, fmt.Errorf("netsh printed the excluded range %q, which is not a valid port range", strings.TrimSpace(line))
		}
		ranges = append(ranges, r)
	}
	return ranges, nil
}

func checkRange(r wire.PortRange) error {
	if r.Start < 1 || r.End > 65535 || r.Start > r.End {
		return fmt.Errorf("%d-%d is not a port range", r.Start, r.End)
	}
	return nil
}

func lines(s string) []string {
	return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

// quote shows (the start of) a tool's output in an error, on one line.
func quote(out string) string {
	s := strings.Join(strings.Fields(out), " ")
	if s == "" {
		return "an empty output"
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return strconv.Quote(s)
}
