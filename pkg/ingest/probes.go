package ingest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// Probe verdicts, as wire.ProbeData uses them.
const (
	verdictOK      = "ok"
	verdictFail    = "fail"
	verdictTimeout = "timeout"
)

// TranscriptMethod is wire.ProbeData.Method for probes read from a pasted transcript.
const TranscriptMethod = "transcript"

var cmdLineRe = regexp.MustCompile(`(?i)^(?:PS [^>]*>\s*|[A-Za-z]:\\[^>]*>\s*|[$#>]\s+|.*\s--\s+(?:powershell(?:\.exe)?\s+(?:-c(?:ommand)?\s+)?"?)?)?(nslookup|resolve-dnsname|test-netconnection|tnc|ping|curl\.exe|curl|invoke-webrequest|iwr|wget)\b(?:\.exe)?(.*)$`)

type segment struct {
	tool string
	args []string
	out  []string
}

// recogniseTranscripts reads in-pod test transcripts: nslookup, Resolve-DnsName,
// Test-NetConnection, ping, curl and Invoke-WebRequest, with or without their command lines,
// into probe records (Method "transcript").
func recogniseTranscripts(d *Doc) *Output {
	ls := d.Lines()
	var segs []segment
	var cur *segment
	for _, l := range ls {
		if m := cmdLineRe.FindStringSubmatch(strings.TrimSpace(l)); m != nil && (isPrompt(l) || strings.Contains(l, " -- ") || looksLikeBareCommand(m[1], m[2])) {
			if cur != nil {
				segs = append(segs, *cur)
			}
			cur = &segment{tool: normTool(m[1]), args: fields(strings.Trim(m[2], `"'`))}
			continue
		}
		if isPrompt(l) {
			if cur != nil {
				segs = append(segs, *cur)
			}
			cur = nil
			continue
		}
		if cur != nil {
			cur.out = append(cur.out, l)
		}
	}
	if cur != nil {
		segs = append(segs, *cur)
	}
	var probes []wire.ProbeData
	var notes []string
	if len(segs) > 0 {
		for _, s := range segs {
			probes = append(probes, parseSegment(s, &notes)...)
		}
	} else {
		probes = append(probes, scanNslookup(ls, "")...)
		probes = append(probes, scanPing(ls)...)
		probes = append(probes, scanTNC(ls)...)
		probes = append(probes, scanWebErrors(ls, "")...)
	}
	pod := podIPConfigFragment(d)
	if len(probes) == 0 && pod == nil {
		if len(notes) > 0 {
			return &Output{Format: "test-transcript", Unused: true, Notes: notes}
		}
		return nil
	}
	out := &Output{Format: "test-transcript", Notes: notes}
	verdicts := map[string]int{}
	for _, p := range probes {
		p.Method = TranscriptMethod
		out.Records = append(out.Records, probe(p))
		verdicts[p.Verdict]++
	}
	out.Detail = fmt.Sprintf("%d probes (%s)", len(probes), kindCounts(verdicts))
	if pod != nil {
		out.Records = append(out.Records, pod.Records...)
		out.Notes = append(out.Notes, pod.Notes...)
		if len(probes) == 0 {
			out.Format, out.Detail = "ipconfig-all (inside a pod, from its adapter on)", pod.Detail
		} else {
			out.Detail += "; " + pod.Detail
		}
	}
	return out
}

// podIPConfigFragment reads `ipconfig /all` pasted from inside a pod without its first lines
// (the "Windows IP Configuration" block scrolled away or was not copied), when the adapter is
// a container's and names no DNS suffix. ipconfig prints the search list only when there is
// one, and a container's adapter carries the endpoint's DNS suffix, so such an adapter says the
// pod got no suffixes: its search list is read as empty, not unknown. An adapter that has a
// suffix is left alone, as the search list the paste lacks may differ from it.
func podIPConfigFragment(d *Doc) *Output {
	ls := d.Lines()
	first := -1
	for i, l := range ls {
		if strings.TrimSpace(l) == "Windows IP Configuration" {
			return nil // a whole ipconfig: its own recogniser reads it
		}
		if first < 0 && ipconfigAdapter.MatchString(l) {
			first = i
		}
	}
	if first < 0 {
		return nil
	}
	start := first
	for start > 0 && !isPrompt(ls[start-1]) {
		start--
	}
	ipc := recogniseIPConfig(&Doc{Name: d.Name, Text: "Windows IP Configuration\n\n" + strings.Join(ls[start:], "\n")})
	if ipc == nil {
		return nil
	}
	for _, r := range ipc.Records {
		if r.Kind != KindPodNetwork {
			continue
		}
		var pn PodNetwork
		if json.Unmarshal(r.Data, &pn) != nil || len(pn.DNS.SearchList) > 0 {
			return nil
		}
		for _, a := range pn.Adapters {
			if len(a.Addresses) > 0 && a.DNSSuffix != "" {
				return nil
			}
		}
		return &Output{Records: []wire.Record{r},
			Detail: fmt.Sprintf("a pod's ipconfig /all (from its adapter on): DNS servers %s, no DNS suffix, search list empty", listOrNone(pn.DNS.Servers)),
			Notes:  []string{"the pod's ipconfig /all was pasted from its adapter on; its adapter has no DNS suffix and no search list is printed, so the pod's search list is read as empty"}}
	}
	return nil
}

func listOrNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ",")
}

// looksLikeBareCommand accepts a command typed without a prompt ("nslookup kubernetes.default")
// but not prose that merely mentions the tool ("ping works but curl fails").
func looksLikeBareCommand(tool, rest string) bool {
	fs := fields(rest)
	if len(fs) == 0 || len(fs) > 8 {
		return false
	}
	for _, f := range fs {
		if strings.HasPrefix(f, "-") || strings.ContainsAny(f, ".:/") {
			return true
		}
	}
	return false
}

func normTool(t string) string {
	t = strings.ToLower(t)
	switch t {
	case "tnc":
		return "test-netconnection"
	case "iwr":
		return "invoke-webrequest"
	case "curl.exe":
		return "curl.exe"
	}
	return t
}

// positional returns the arguments that are not flags or flag values.
func positional(args []string, valued map[string]bool) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.Trim(args[i], `"'`)
		if strings.HasPrefix(a, "-") {
			if valued[strings.ToLower(a)] && i+1 < len(args) {
				i++
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

func flagValue(args []string, names ...string) string {
	for i := 0; i+1 < len(args); i++ {
		for _, n := range names {
			if strings.EqualFold(args[i], n) {
				return strings.Trim(args[i+1], `"'`)
			}
		}
	}
	return ""
}

func parseSegment(s segment, notes *[]string) []wire.ProbeData {
	switch s.tool {
	case "nslookup":
		pos := positional(s.args, nil)
		query := ""
		if len(pos) > 0 {
			query = pos[0]
		}
		ps := scanNslookup(s.out, query)
		if len(ps) > 0 || query == "" || len(s.out) == 0 {
			return ps
		}
		server, serverName, rest := nslookupHeader(s.out)
		if len(rest) == 0 {
			// Only the server lines: the paste ends (or was cut) before the answer.
			*notes = append(*notes, fmt.Sprintf("nslookup %s: the output stops after the server lines, so the query was not judged", query))
			return nil
		}
		p := wire.ProbeData{Target: query, Protocol: "dns", Verdict: verdictFail, Error: excerpt(rest, 3), Detail: map[string]any{"tool": "nslookup", "query": query}}
		if server != "" {
			p.Target = server + ":53"
			p.Detail.(map[string]any)["server"] = server
			p.Detail.(map[string]any)["serverName"] = serverName
		}
		return []wire.ProbeData{p}
	case "resolve-dnsname":
		pos := positional(s.args, map[string]bool{"-server": true, "-type": true, "-name": true})
		query := firstOf(flagValue(s.args, "-Name"), first(pos))
		server := flagValue(s.args, "-Server")
		return []wire.ProbeData{resolveDnsName(s.out, query, server)}
	case "test-netconnection":
		ps := scanTNC(s.out)
		if len(ps) == 0 {
			target := firstOf(flagValue(s.args, "-ComputerName", "-cn"), first(positional(s.args, map[string]bool{"-port": true, "-computername": true, "-cn": true, "-commontcpport": true})))
			if target != "" && len(s.out) > 0 {
				return []wire.ProbeData{{Target: target, Protocol: "tcp", Verdict: verdictFail, Error: excerpt(s.out, 3), Detail: map[string]any{"tool": "Test-NetConnection"}}}
			}
		}
		return ps
	case "ping":
		return scanPing(s.out)
	case "curl.exe", "curl", "invoke-webrequest", "wget":
		target := first(positional(s.args, map[string]bool{"-o": true, "-h": true, "-x": true, "-m": true, "--max-time": true, "-uri": true, "-method": true, "-outfile": true, "-timeoutsec": true}))
		target = firstOf(flagValue(s.args, "-Uri"), target)
		if ps := scanWebErrors(s.out, target); len(ps) > 0 {
			return ps
		}
		if target == "" {
			return nil
		}
		if ps := scanCurlErrors(s.out, target); len(ps) > 0 {
			return ps
		}
		if len(strings.TrimSpace(strings.Join(s.out, ""))) == 0 {
			return nil // no output: nothing proves either way
		}
		p := wire.ProbeData{Target: target, Protocol: "http", Verdict: verdictOK, Detail: map[string]any{"tool": s.tool, "output": excerpt(s.out, 5)}}
		if code := statusCode(s.out); code >= 500 {
			p.Verdict, p.Error = verdictFail, fmt.Sprintf("HTTP status %d", code)
		}
		return []wire.ProbeData{p}
	}
	return nil
}

func first(ss []string) string {
	if len(ss) > 0 {
		return ss[0]
	}
	return ""
}

func excerpt(ls []string, n int) string {
	var keep []string
	for _, l := range ls {
		if t := strings.TrimSpace(l); t != "" {
			keep = append(keep, t)
			if len(keep) == n {
				break
			}
		}
	}
	return strings.Join(keep, " | ")
}

var (
	nsServerRe  = regexp.MustCompile(`^Server:\s+(\S+)`)
	nsAddressRe = regexp.MustCompile(`^Address(?:es)?(?: \d+)?:\s+(\S+)`)
	nsNameRe    = regexp.MustCompile(`^Name:\s+(\S+)`)
	nsCantFind  = regexp.MustCompile(`\*\*\* (\S+) can't find (\S+?):? (.+)$`)
	nsBareIP    = regexp.MustCompile(`^\s+([0-9a-fA-F:.]+)$`)
)

// nslookupHeader splits nslookup's output into the server it asked (address and name) and
// what came after: lines that say nothing about the query ("Non-authoritative answer:", the
// failed reverse lookup of the server's own name) are dropped.
func nslookupHeader(ls []string) (server, name string, rest []string) {
	for _, l := range ls {
		t := strings.TrimSpace(l)
		switch {
		case t == "", t == "Non-authoritative answer:", strings.HasPrefix(t, "*** Can't find server name for address"):
			continue
		case name == "" && nsServerRe.MatchString(t):
			name = nsServerRe.FindStringSubmatch(t)[1]
			continue
		case name != "" && server == "" && len(rest) == 0 && nsAddressRe.MatchString(t):
			server = strings.TrimSuffix(nsAddressRe.FindStringSubmatch(t)[1], "#53")
			continue
		}
		rest = append(rest, l)
	}
	return server, name, rest
}

// scanNslookup reads nslookup's output: a "Server:/Address:" block, then answers ("Name:",
// "Address(es):") or errors ("*** ... can't find x: Non-existent domain", "DNS request timed
// out."). One probe per server block.
func scanNslookup(ls []string, query string) []wire.ProbeData {
	var out []wire.ProbeData
	for i := 0; i < len(ls); i++ {
		m := nsServerRe.FindStringSubmatch(strings.TrimSpace(ls[i]))
		if m == nil {
			continue
		}
		server, serverAddr := m[1], ""
		j := i + 1
		if j < len(ls) {
			if a := nsAddressRe.FindStringSubmatch(strings.TrimSpace(ls[j])); a != nil {
				serverAddr = strings.TrimSuffix(a[1], "#53")
				j++
			}
		}
		// Timeouts print before the Server block too; look back a few lines.
		timedOut := false
		for k := max(0, i-4); k < i; k++ {
			if strings.Contains(ls[k], "DNS request timed out") {
				timedOut = true
			}
		}
		var answers []string
		name, errText := "", ""
		for ; j < len(ls); j++ {
			t := strings.TrimSpace(ls[j])
			if nsServerRe.MatchString(t) || isPrompt(ls[j]) || cmdLineRe.MatchString(t) && looksLikeBareCommand("", strings.Join(fields(t)[1:], " ")) {
				break
			}
			switch {
			case nsNameRe.MatchString(t):
				name = nsNameRe.FindStringSubmatch(t)[1]
			case nsAddressRe.MatchString(t) && name != "":
				answers = append(answers, nsAddressRe.FindStringSubmatch(t)[1])
			case nsBareIP.MatchString(ls[j]) && name != "":
				answers = append(answers, strings.TrimSpace(ls[j]))
			case nsCantFind.MatchString(t):
				c := nsCantFind.FindStringSubmatch(t)
				name, errText = c[2], c[3]
			case strings.Contains(t, "timed out") || strings.Contains(t, "timed-out"):
				timedOut = true
			}
		}
		if _, err := netip.ParseAddr(server); err == nil && serverAddr == "" {
			serverAddr = server // a "Server:" that is an address, with its "Address:" line cut
		}
		q := firstOf(query, name)
		// The server is the address nslookup asked; "Server:" is only what that address's
		// reverse lookup gave ("UnKnown" when none).
		p := wire.ProbeData{Protocol: "dns", Detail: map[string]any{"tool": "nslookup", "query": q, "serverName": server}}
		p.Target = q
		if serverAddr != "" {
			p.Target = serverAddr + ":53"
			p.Detail.(map[string]any)["server"] = serverAddr
			p.Detail.(map[string]any)["serverAddress"] = serverAddr
		}
		switch {
		case len(answers) > 0:
			p.Verdict = verdictOK
			p.Detail.(map[string]any)["answers"] = answers
		case errText != "":
			p.Verdict, p.Error = verdictFail, errText
			if strings.Contains(errText, "timed") {
				p.Verdict = verdictTimeout
			}
		case timedOut:
			p.Verdict, p.Error = verdictTimeout, "DNS request timed out"
		default:
			continue // a server block with nothing after it
		}
		out = append(out, p)
		i = j - 1
	}
	return out
}

func resolveDnsName(out []string, query, server string) wire.ProbeData {
	p := wire.ProbeData{Target: query, Protocol: "dns", Detail: map[string]any{"tool": "Resolve-DnsName", "query": query}}
	if server != "" {
		p.Target = server + ":53"
		p.Detail.(map[string]any)["server"] = server
	}
	text := strings.Join(out, "\n")
	var answers []string
	for _, t := range findUnderlinedTables(out, '-', "Name", "Type") {
		for _, r := range t.rows {
			if ip := firstOf(t.get(r, "IPAddress"), t.get(r, "NameHost")); ip != "" {
				answers = append(answers, ip)
			}
		}
	}
	switch {
	case len(answers) > 0:
		p.Verdict = verdictOK
		p.Detail.(map[string]any)["answers"] = answers
	case strings.Contains(text, "timeout period expired") || strings.Contains(text, "timed out"):
		p.Verdict, p.Error = verdictTimeout, psErrorText(out)
	case strings.Contains(text, "Resolve-DnsName :") || strings.Contains(text, "does not exist"):
		p.Verdict, p.Error = verdictFail, psErrorText(out)
	default:
		p.Verdict, p.Error = verdictFail, "no answer in the transcript: "+excerpt(out, 2)
	}
	return p
}

// psErrorText returns the message of a PowerShell error record ("Cmdlet : message").
func psErrorText(ls []string) string {
	for _, l := range ls {
		if _, msg, ok := strings.Cut(l, " : "); ok && !strings.HasPrefix(strings.TrimSpace(l), "+") {
			return strings.TrimSpace(msg)
		}
	}
	return excerpt(ls, 2)
}

var (
	pingHeader   = regexp.MustCompile(`^Pinging (\S+)(?: \[(\S+)\])? with \d+ bytes`)
	pingNotFound = regexp.MustCompile(`Ping request could not find host (\S+?)\.? Please`)
)

// scanPing reads Windows ping output, which names its target in its first line.
func scanPing(ls []string) []wire.ProbeData {
	var out []wire.ProbeData
	for i := 0; i < len(ls); i++ {
		t := strings.TrimSpace(ls[i])
		if m := pingNotFound.FindStringSubmatch(t); m != nil {
			out = append(out, wire.ProbeData{Target: m[1], Protocol: "icmp", Verdict: verdictFail, Error: "name not resolved: " + t, Detail: map[string]any{"tool": "ping"}})
			continue
		}
		m := pingHeader.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		p := wire.ProbeData{Target: firstOf(m[2], m[1]), Protocol: "icmp", Detail: map[string]any{"tool": "ping", "host": m[1]}}
		replies, timeouts, unreachable := 0, 0, 0
		j := i + 1
		for ; j < len(ls); j++ {
			l := strings.TrimSpace(ls[j])
			if pingHeader.MatchString(l) || isPrompt(ls[j]) {
				break
			}
			switch {
			case strings.HasPrefix(l, "Reply from") && strings.Contains(l, "bytes="):
				replies++
			case strings.HasPrefix(l, "Reply from"), strings.Contains(l, "unreachable"), strings.Contains(l, "General failure"), strings.Contains(l, "transmit failed"):
				unreachable++
				if p.Error == "" {
					p.Error = l
				}
			case strings.HasPrefix(l, "Request timed out"):
				timeouts++
			}
		}
		switch {
		case replies > 0:
			p.Verdict = verdictOK
		case unreachable > 0:
			p.Verdict = verdictFail
		case timeouts > 0:
			p.Verdict, p.Error = verdictTimeout, "Request timed out"
		default:
			i = j - 1
			continue
		}
		p.Detail.(map[string]any)["replies"] = replies
		out = append(out, p)
		i = j - 1
	}
	return out
}

// scanTNC reads Test-NetConnection's result blocks (ComputerName, RemoteAddress, RemotePort,
// TcpTestSucceeded or PingSucceeded) and its WARNING lines.
func scanTNC(ls []string) []wire.ProbeData {
	var out []wire.ProbeData
	var warnings []string
	for _, l := range ls {
		if w, ok := strings.CutPrefix(strings.TrimSpace(l), "WARNING: "); ok {
			warnings = append(warnings, w)
		}
	}
	for _, b := range formatListBlocks(ls) {
		tcp, hasTCP := b["TcpTestSucceeded"]
		ping, hasPing := b["PingSucceeded"]
		if _, ok := b["ComputerName"]; !ok || (!hasTCP && !hasPing) {
			continue
		}
		host := firstOf(b["RemoteAddress"], b["ComputerName"])
		p := wire.ProbeData{Detail: map[string]any{"tool": "Test-NetConnection", "computerName": b["ComputerName"]}}
		if hasTCP {
			p.Protocol, p.Target = "tcp", host
			if port := b["RemotePort"]; port != "" {
				p.Target = host + ":" + port
			}
			if strings.EqualFold(tcp, "True") {
				p.Verdict = verdictOK
			} else {
				p.Verdict = verdictFail
			}
		} else {
			p.Protocol, p.Target = "icmp", host
			if strings.EqualFold(ping, "True") {
				p.Verdict = verdictOK
			} else {
				p.Verdict = verdictFail
			}
		}
		if p.Verdict == verdictFail && len(warnings) > 0 {
			p.Error = strings.Join(warnings, "; ")
		}
		if rtt := b["PingReplyDetails (RTT)"]; rtt != "" {
			if n, err := strconv.Atoi(strings.TrimSuffix(rtt, " ms")); err == nil && p.Verdict == verdictOK {
				p.LatencyMS = int64(n)
			}
		}
		out = append(out, p)
	}
	return out
}

var (
	webRemoteName = regexp.MustCompile(`remote name could not be resolved: '([^']+)'`)
	curlErr       = regexp.MustCompile(`^curl: \((\d+)\) (.+)$`)
	statusCodeRe  = regexp.MustCompile(`^StatusCode\s*:\s*(\d+)`)
	httpStatusRe  = regexp.MustCompile(`^< HTTP/[\d.]+ (\d+)`)
)

// scanWebErrors reads Invoke-WebRequest's (and PowerShell's curl alias's) error records.
func scanWebErrors(ls []string, target string) []wire.ProbeData {
	text := strings.Join(ls, "\n")
	if !strings.Contains(text, "Invoke-WebRequest") && !strings.Contains(text, "curl : ") && !strings.Contains(text, "iwr : ") &&
		!strings.Contains(text, "WebCmdletWebResponseException") {
		return nil
	}
	p := wire.ProbeData{Target: target, Protocol: "http", Detail: map[string]any{"tool": "Invoke-WebRequest"}}
	if m := webRemoteName.FindStringSubmatch(text); m != nil {
		p.Target = firstOf(p.Target, m[1])
		p.Verdict, p.Error = verdictFail, "could not resolve "+m[1]
	} else if strings.Contains(text, "timed out") {
		p.Verdict, p.Error = verdictTimeout, psErrorText(ls)
	} else if code := statusCode(ls); code > 0 && code < 400 {
		p.Verdict = verdictOK
	} else {
		p.Verdict, p.Error = verdictFail, psErrorText(ls)
	}
	if p.Target == "" {
		return nil
	}
	return []wire.ProbeData{p}
}

func scanCurlErrors(ls []string, target string) []wire.ProbeData {
	for _, l := range ls {
		m := curlErr.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		p := wire.ProbeData{Target: target, Protocol: "http", Verdict: verdictFail, Error: m[2], Detail: map[string]any{"tool": "curl", "curlExit": m[1]}}
		if m[1] == "28" {
			p.Verdict = verdictTimeout
		}
		return []wire.ProbeData{p}
	}
	return nil
}

func statusCode(ls []string) int {
	for _, l := range ls {
		t := strings.TrimSpace(l)
		if m := statusCodeRe.FindStringSubmatch(t); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
		if m := httpStatusRe.FindStringSubmatch(t); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}

// cniResultKeys are all the keys a CNI result (any spec version) or error may have.
var (
	cniErrorKeys  = map[string]bool{"cniversion": true, "code": true, "msg": true, "details": true}
	cniResultKeys = map[string]bool{"cniversion": true, "interfaces": true, "ips": true, "routes": true, "dns": true, "ip4": true, "ip6": true}
)

// cniErrorCodes are the codes the CNI spec reserves; 100 and up are the plugin's own.
var cniErrorCodes = map[int]string{
	1: "incompatible CNI version", 2: "unsupported field in network configuration", 3: "container unknown or does not exist",
	4: "invalid necessary environment variables", 5: "I/O failure", 6: "failed to decode content", 7: "invalid network config",
	11: "try again later",
}

func onlyKeys(o jobj, allowed map[string]bool) bool {
	for k := range o.keys {
		if !allowed[k] {
			return false
		}
	}
	return true
}

// recogniseCNIResult reads what a CNI plugin call printed or left in a file (also as a pasted
// `cat` of it): an error result, a success result, or the IPAM-only config the call was given.
func recogniseCNIResult(d *Doc) *Output {
	objs := d.Objects()
	if len(objs) != 1 || len(d.JSONValues()) != 1 {
		return nil
	}
	o := objs[0]
	name := echoedFile(d.Text)
	prefix := ""
	if name != "" {
		prefix = name + ": "
	}
	text := jsonFileText(d)
	switch {
	case o.has("code") && o.has("msg") && onlyKeys(o, cniErrorKeys):
		code, err := strconv.Atoi(o.str("code"))
		if err != nil {
			return nil
		}
		what := cniErrorCodes[code]
		if what == "" {
			what = "the plugin's own error"
			if code < 100 {
				what = "reserved"
			}
		}
		detail := fmt.Sprintf("%sCNI error %d (%s): %s", prefix, code, what, o.str("msg"))
		if det := o.str("details"); det != "" {
			detail += " (" + det + ")"
		}
		return &Output{Format: "cni-error-result", Detail: detail, Records: []wire.Record{fileRecord(wire.RoleCNIResult, text)},
			Notes: []string{"a CNI plugin's error result: the call that wrote it failed, so whatever it was to set up (an address, a pod's network) was not"}}
	case o.has("cniversion") && o.hasAny("ips", "ip4", "ip6") && onlyKeys(o, cniResultKeys):
		var addrs []string
		for _, ip := range o.arr("ips") {
			addrs = append(addrs, firstOf(ip.str("address"), ip.str("ip")))
		}
		for _, k := range []string{"ip4", "ip6"} {
			if ip, ok := o.obj(k); ok {
				addrs = append(addrs, ip.str("ip"))
			}
		}
		return &Output{Format: "cni-result", Detail: fmt.Sprintf("%sCNI result: %s", prefix, strings.Join(addrs, ", ")),
			Records: []wire.Record{fileRecord(wire.RoleCNIResult, text)}}
	case o.has("cniversion") && !o.hasAny("type", "plugins"):
		ipam, ok := o.obj("ipam")
		if !ok || ipam.str("type") == "" {
			return nil
		}
		return &Output{Format: "cni-ipam-config", Detail: fmt.Sprintf("%snetwork %q, IPAM plugin %s (no plugin type: the input of a direct IPAM call, not a config the runtime loads)", prefix, o.str("name"), ipam.str("type")),
			Records: []wire.Record{fileRecord(wire.RoleCNIIPAMConfig, text)}}
	}
	return nil
}
