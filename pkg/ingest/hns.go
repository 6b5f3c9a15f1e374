package ingest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// HNSObject is one HNS network, endpoint, load balancer, policy list or namespace found in a
// file. Objects are deduplicated by ID across files (collectlogs.ps1 folders and pasted
// sessions often hold the same object twice) before they become records.
type HNSObject struct {
	Kind   string // wire.KindHCN* or wire.KindHNSPolicyLists
	ID     string // lower case
	Schema int    // 1 (HNS v1, Get-Hns*) or 2 (HCN)
	Rank   int    // how complete the source is: rankJSON, rankText or rankPartial
	Raw    json.RawMessage
	// Subset: the paste filtered the list, so it holds only some objects of the kind (see
	// wire.Record's Partial).
	Subset bool
}

const (
	rankPartial = 0 // the few columns a Format-Table printed
	rankText    = 1 // rebuilt from Format-List or hnsdiag text
	rankJSON    = 2 // JSON as HNS returned it
)

// v1 network types (Get-HnsNetwork's Type) and HCN namespace types.
var (
	hnsNetworkTypes   = map[string]bool{"nat": true, "ics": true, "transparent": true, "l2bridge": true, "l2tunnel": true, "overlay": true, "private": true, "internal": true}
	hnsNamespaceTypes = map[string]bool{"host": true, "hostdefault": true, "guest": true, "guestdefault": true}
)

// classifyHNS tells an HNS object's kind and schema by its fields (HNS-FACTS.md §3.2, §3.3).
func classifyHNS(o jobj) (kind string, schema int) {
	switch {
	case o.hasAny("hostcomputeendpoints", "frontendvips") || (o.has("portmappings") && o.has("sourcevip")):
		return wire.KindHCNLoadBalancers, 2
	case o.has("references") && o.has("policies"):
		return wire.KindHNSPolicyLists, 1
	case o.hasAny("hostcomputenetwork", "ipconfigurations"):
		return wire.KindHCNEndpoints, 2
	case o.hasAny("virtualnetwork", "isremoteendpoint", "virtualnetworkname") || (o.has("ipaddress") && o.has("macaddress") && o.has("id")):
		return wire.KindHCNEndpoints, 1
	case o.has("namespaceid") || (o.has("schemaversion") && hnsNamespaceTypes[strings.ToLower(o.str("type"))]):
		return wire.KindHCNNamespaces, 2
	case o.hasAny("ipams", "macpool"):
		return wire.KindHCNNetworks, 2
	case o.hasAny("managementip", "networkadaptername", "layeredon", "sourcemac", "macpools", "drmacaddress") ||
		(o.has("subnets") && o.has("id") && !strings.Contains(o.str("type"), "/")) ||
		(o.has("id") && o.has("name") && hnsNetworkTypes[strings.ToLower(o.str("type"))]):
		return wire.KindHCNNetworks, 1
	}
	return "", 0
}

var hnsKindNoun = map[string]string{
	wire.KindHCNNetworks: "network", wire.KindHCNEndpoints: "endpoint", wire.KindHCNLoadBalancers: "load balancer",
	wire.KindHCNNamespaces: "namespace", wire.KindHNSPolicyLists: "policy list",
}

// recogniseHNSJSON reads Get-HnsNetwork/Get-HnsEndpoint/Get-HnsPolicyList | ConvertTo-Json
// (HNS v1) and HCN v2 JSON (hnsdiag list -d, hns.v2.psm1, the collector's raw dumps), one
// object or an array, networks, endpoints, load balancers, policy lists and namespaces mixed.
func recogniseHNSJSON(d *Doc) *Output {
	objs := d.Objects()
	prefixed := false
	if len(objs) == 0 {
		// This claims the whole file, so it must be little else: a session with other commands
		// around such a line is the section readers' to read.
		if objs = propertyJSON(d.Text); len(objs) == 0 {
			return nil
		}
		prefixed = true
	}
	if len(objs) == 0 {
		return nil
	}
	out := hnsFromObjects(objs)
	if out != nil && prefixed {
		out.Notes = append(out.Notes, "the JSON was read from after a \"Name=\" or \"Name :\" prefix (a log or a property list printed it)")
	}
	return out
}

// hnsFromObjects classifies JSON objects as HNS objects; nil when most are not.
func hnsFromObjects(objs []jobj) *Output {
	out := &Output{}
	counts := map[string]int{}
	schemas := map[int]bool{}
	unknown, repaired := 0, 0
	for _, o := range objs {
		kind, schema := classifyHNS(o)
		if kind == "" {
			unknown++
			continue
		}
		raw, dropped := repairHNS(kind, o.raw)
		if len(dropped) > 0 {
			repaired++
		}
		out.HNS = append(out.HNS, HNSObject{Kind: kind, ID: strings.ToLower(o.str("id")), Schema: schema, Rank: rankJSON, Raw: raw})
		counts[kind]++
		schemas[schema] = true
	}
	if len(out.HNS) == 0 || unknown > len(out.HNS) {
		return nil
	}
	switch {
	case schemas[1] && schemas[2]:
		out.Format = "hns-json (v1 and v2)"
	case schemas[2]:
		out.Format = "hcn-v2-json"
	default:
		out.Format = "hns-v1-json"
	}
	out.Detail = countDetail(counts)
	if unknown > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d JSON object(s) are not HNS objects and were skipped", unknown))
	}
	if repaired > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d object(s) had nested fields flattened to text (ConvertTo-Json without -Depth); those fields were dropped: re-run with ConvertTo-Json -Depth 20 for the full state", repaired))
	}
	return out
}

// keyedJSON is a line that names a value and prints it as JSON: "Settings={...}" as a debug
// log or a CNI's trace writes an HCN request, "Settings : {...}" as a property list shows it.
var keyedJSON = regexp.MustCompile(`^\s*[A-Za-z][\w.-]{0,40}\s*(?:=|:)\s*[{\[]`)

// maxKeyedJSON bounds the text one keyed value is decoded from.
const maxKeyedJSON = 1 << 20

// propertyJSON returns the JSON objects that follow such names, in order, when everything
// else in t is blank, prompt or property lines (such a file is a property list or a debug
// dump of HCN requests, and this claims it whole); nil otherwise. The text around the JSON is
// kept as offsets and checked only once some JSON was found: on a long log without any, the
// check would be most of the reading time.
func propertyJSON(t string) []jobj {
	if !strings.Contains(t, "{") && !strings.Contains(t, "[") {
		return nil
	}
	var out []jobj
	var around [][2]int // the lines (or line starts) outside the JSON, as offsets into t
	attempts, pos := 0, 0
	for pos < len(t) {
		line := t[pos:]
		next := len(t)
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], pos+i+1
		}
		if loc := keyedJSON.FindStringIndex(line); loc != nil && attempts < maxJSONAttempts {
			attempts++
			start := pos + loc[1] - 1
			// One keyed value is one object, not a dump: a brace that never closes must not
			// cost a decode of the rest of a large file.
			dec := json.NewDecoder(strings.NewReader(t[start:min(len(t), start+maxKeyedJSON)]))
			var v json.RawMessage
			if dec.Decode(&v) == nil {
				around = append(around, [2]int{pos, start})
				out = append(out, flattenJSON(v)...)
				pos = start + int(dec.InputOffset())
				continue
			}
		}
		around = append(around, [2]int{pos, pos + len(line)})
		pos = next
	}
	if len(out) == 0 {
		return nil
	}
	for _, r := range around {
		if !propertyText(t[r[0]:r[1]]) {
			return nil
		}
	}
	return out
}

// propertyLine is a "Name : value" or "Name=value" line, or a name whose value was the JSON.
var propertyLine = regexp.MustCompile(`^\s*[A-Za-z][\w .()-]{0,48}?\s*(?:[:=]\s*.*)?$`)

// propertyText says whether a line around the JSON is one a property list holds: blank, a
// closing brace, a prompt or a property line.
func propertyText(l string) bool {
	t := strings.TrimSpace(l)
	return t == "" || t == "}" || isPrompt(l) || propertyLine.MatchString(l)
}

func countDetail(counts map[string]int) string {
	var parts []string
	for kind, n := range counts {
		noun := hnsKindNoun[kind]
		if noun == "" {
			noun = kind
		}
		if n != 1 {
			noun += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, noun))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// Shapes the snapshot decoder expects per kind; a field that does not fit (PowerShell's
// ConvertTo-Json at its default depth 2 prints nested objects as "@{...}" strings) is dropped so
// one truncated field does not make the whole artifact undecodable.
type (
	hnsPolicyShape  []map[string]json.RawMessage
	hnsNetworkShape struct {
		ID, Name, Type string
		ManagementIP   string
		Policies       hnsPolicyShape
		Subnets        []struct{ AddressPrefix, GatewayAddress string }
		Ipams          []struct {
			Subnets []struct {
				IpAddressPrefix string
				Routes          []struct{ NextHop, DestinationPrefix string }
			}
		}
	}
	hnsEndpointShape struct {
		ID, Name             string
		HostComputeNetwork   string
		HostComputeNamespace string
		VirtualNetwork       string
		VirtualNetworkName   string
		IPAddress            string
		PrefixLength         int
		MacAddress           string
		IsRemoteEndpoint     bool
		Flags                int
		Dns                  struct{ Search, ServerList []string }
		IpConfigurations     []struct {
			IpAddress    string
			PrefixLength int
		}
		Policies hnsPolicyShape
	}
	hnsLBShape struct {
		ID                   string
		HostComputeEndpoints []string
		SourceVIP            string
		FrontendVIPs         []string
		PortMappings         []struct{ Protocol, InternalPort, ExternalPort, Flags int }
		Flags                int
	}
	hnsPolicyListShape struct {
		ID         string
		References []string
		Policies   []struct {
			Type, SourceVIP            string
			VIPs                       []string
			Protocol                   int
			InternalPort, ExternalPort int
			IsDSR                      bool
		}
	}
)

func shapeFor(kind string) any {
	switch kind {
	case wire.KindHCNNetworks:
		return &hnsNetworkShape{}
	case wire.KindHCNEndpoints:
		return &hnsEndpointShape{}
	case wire.KindHCNLoadBalancers:
		return &hnsLBShape{}
	case wire.KindHNSPolicyLists:
		return &hnsPolicyListShape{}
	}
	return nil
}

// repairHNS returns raw unchanged when it decodes as kind; otherwise it drops the top-level
// fields that do not fit and returns the rest, and the names dropped.
func repairHNS(kind string, raw json.RawMessage) (json.RawMessage, []string) {
	if shapeFor(kind) == nil || json.Unmarshal(raw, shapeFor(kind)) == nil {
		return raw, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw, nil
	}
	var dropped []string
	for k, v := range m {
		one, _ := json.Marshal(map[string]json.RawMessage{k: v})
		if json.Unmarshal(one, shapeFor(kind)) != nil {
			delete(m, k)
			dropped = append(dropped, k)
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return raw, nil
	}
	sort.Strings(dropped)
	return out, dropped
}

// HNSDiagList is what `hnsdiag list all|networks|endpoints|loadbalancers` printed, parsed. It
// is emitted as KindHNSDiag next to the raw text (KindToolOutput). The table layout of older
// builds carries no ports and no endpoint IPs, so it is not turned into hcn.* artifacts: a load
// balancer without ports would look like a missing one.
type HNSDiagList struct {
	Networks      []HNSDiagNetwork      `json:"networks,omitempty"`
	Endpoints     []HNSDiagEndpoint     `json:"endpoints,omitempty"`
	LoadBalancers []HNSDiagLoadBalancer `json:"loadBalancers,omitempty"`
}

// HNSDiagNetwork is one network line or block.
type HNSDiagNetwork struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

// HNSDiagEndpoint is one endpoint line or block.
type HNSDiagEndpoint struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	NetworkName string `json:"networkName,omitempty"`
	IP          string `json:"ip,omitempty"`
	MAC         string `json:"mac,omitempty"`
}

// HNSDiagLoadBalancer is one load balancer line or block.
type HNSDiagLoadBalancer struct {
	ID          string   `json:"id"`
	VIPs        []string `json:"vips,omitempty"`
	EndpointIDs []string `json:"endpointIDs,omitempty"`
}

// KindHNSDiag carries an HNSDiagList.
const KindHNSDiag = "hnsdiag.list"

var guidRe = regexp.MustCompile(`(?i)^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$`)

func isGUID(s string) bool { return guidRe.MatchString(s) }

// recogniseHNSDiag reads hnsdiag's text: the table layout ("Networks:" then "Name  ID" rows,
// load balancers as "ID | Virtual IPs | Direct IP IDs") and the block layout of newer builds
// ("Load Balancer    : <id>" followed by indented "Virtual IPs : ..." lines).
func recogniseHNSDiag(d *Doc) *Output {
	var l HNSDiagList
	section := ""
	var cur map[string]string
	curKind := ""
	lastKey := ""
	flush := func() {
		if cur == nil {
			return
		}
		switch curKind {
		case "network":
			l.Networks = append(l.Networks, HNSDiagNetwork{ID: strings.ToLower(cur["id"]), Name: cur["name"], Type: cur["type"]})
		case "endpoint":
			l.Endpoints = append(l.Endpoints, HNSDiagEndpoint{ID: strings.ToLower(cur["id"]), Name: cur["name"],
				NetworkName: firstOf(cur["virtual network name"], cur["network name"], cur["network"]),
				IP:          firstOf(cur["ip address"], cur["ipaddress"]), MAC: firstOf(cur["mac address"], cur["macaddress"])})
		case "loadbalancer":
			l.LoadBalancers = append(l.LoadBalancers, HNSDiagLoadBalancer{ID: strings.ToLower(cur["id"]),
				VIPs: fields(firstOf(cur["virtual ips"], cur["vips"])), EndpointIDs: lowerAll(fields(firstOf(cur["direct ip ids"], cur["dip ids"], cur["endpoints"])))})
		}
		cur, curKind, lastKey = nil, "", ""
	}
	blockKinds := map[string]string{"network": "network", "endpoint": "endpoint", "load balancer": "loadbalancer", "loadbalancer": "loadbalancer"}
	tableSeen := false
	for _, line := range d.Lines() {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		switch strings.ToLower(t) {
		case "networks:", "endpoints:", "namespaces:", "loadbalancers:", "load balancers:":
			flush()
			section = strings.TrimSuffix(strings.ReplaceAll(strings.ToLower(t), " ", ""), ":")
			tableSeen = true
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if k, v, ok := cut(t, " : "); ok || strings.HasSuffix(t, " :") {
			if !ok {
				k, v = strings.TrimSpace(strings.TrimSuffix(t, ":")), ""
			}
			key := strings.ToLower(k)
			if kind, isBlock := blockKinds[key]; isBlock && !indented && isGUID(v) {
				flush()
				cur, curKind = map[string]string{"id": strings.Trim(v, "{}")}, kind
				continue
			}
			if cur != nil {
				cur[key], lastKey = v, key
				continue
			}
		} else if cur != nil && indented && lastKey != "" && !strings.Contains(t, ":") {
			cur[lastKey] += " " + t // a wrapped value (more Direct IP IDs)
			continue
		}
		if section == "" {
			continue
		}
		// Table rows.
		if strings.Contains(t, "|") {
			cols := strings.Split(t, "|")
			id := strings.TrimSpace(cols[0])
			if !isGUID(id) || section != "loadbalancers" {
				continue
			}
			lb := HNSDiagLoadBalancer{ID: strings.ToLower(id)}
			if len(cols) > 1 {
				lb.VIPs = fields(cols[1])
			}
			if len(cols) > 2 {
				lb.EndpointIDs = lowerAll(fields(cols[2]))
			}
			l.LoadBalancers = append(l.LoadBalancers, lb)
			continue
		}
		fs := fields(t)
		gi := -1
		for i, f := range fs {
			if isGUID(f) {
				gi = i
				break
			}
		}
		if gi < 0 {
			continue // a header row
		}
		switch section {
		case "networks":
			l.Networks = append(l.Networks, HNSDiagNetwork{ID: strings.ToLower(fs[gi]), Name: strings.Join(fs[:gi], " ")})
		case "endpoints":
			l.Endpoints = append(l.Endpoints, HNSDiagEndpoint{ID: strings.ToLower(fs[gi]), Name: strings.Join(fs[:gi], " "), NetworkName: strings.Join(fs[gi+1:], " ")})
		}
	}
	flush()
	if len(l.Networks)+len(l.Endpoints)+len(l.LoadBalancers) == 0 && !(tableSeen && strings.Contains(d.Text, "Virtual IPs")) {
		return nil
	}
	layout := "blocks"
	if tableSeen {
		layout = "table"
	}
	out := &Output{
		Format: "hnsdiag-list",
		Detail: fmt.Sprintf("%d networks, %d endpoints, %d load balancers (%s layout)", len(l.Networks), len(l.Endpoints), len(l.LoadBalancers), layout),
		Records: []wire.Record{
			artifact(KindHNSDiag, l),
			artifact(wire.KindToolOutput, wire.ToolOutput{Tool: "hnsdiag", Args: []string{"list"}, Output: head(d.Text, maxFileContent)}),
		},
	}
	// Networks and endpoints with an IP are safe to offer when no JSON dump has them.
	for _, n := range l.Networks {
		raw, _ := json.Marshal(map[string]string{"ID": n.ID, "Name": n.Name, "Type": n.Type})
		out.HNS = append(out.HNS, HNSObject{Kind: wire.KindHCNNetworks, ID: n.ID, Schema: 1, Rank: rankText, Raw: raw})
	}
	for _, e := range l.Endpoints {
		if e.IP == "" {
			continue
		}
		raw, _ := json.Marshal(map[string]string{"ID": e.ID, "Name": e.Name, "VirtualNetworkName": e.NetworkName, "IPAddress": e.IP, "MacAddress": e.MAC})
		out.HNS = append(out.HNS, HNSObject{Kind: wire.KindHCNEndpoints, ID: e.ID, Schema: 1, Rank: rankText, Raw: raw})
	}
	if len(l.LoadBalancers) > 0 {
		out.Notes = append(out.Notes, "hnsdiag does not print load balancer ports; the analyzer needs Get-HnsPolicyList or hnsdiag list loadbalancers -d (JSON) to match Services")
	}
	return out
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func lowerAll(ss []string) []string {
	for i := range ss {
		ss[i] = strings.ToLower(strings.Trim(ss[i], "{},"))
	}
	return ss
}

// recogniseHNSFormatList reads HNS objects as PowerShell prints them by default (Format-List:
// "ID                 : ...", "IPAddress          : ...", one block per object), as pasted from
// `Get-HnsEndpoint` or `Get-HnsNetwork` without ConvertTo-Json.
func recogniseHNSFormatList(d *Doc) *Output {
	blocks := formatListBlocks(d.Lines())
	out := &Output{Format: "hns-format-list"}
	counts := map[string]int{}
	for _, b := range blocks {
		m := map[string]json.RawMessage{}
		for k, v := range b {
			if jv, ok := flValue(k, v); ok {
				m[k] = jv
			}
		}
		raw, err := json.Marshal(m)
		if err != nil {
			continue
		}
		o, ok := newJObj(raw)
		if !ok || !o.has("id") {
			continue
		}
		kind, schema := classifyHNS(o)
		if kind == "" || kind == wire.KindHNSPolicyLists || kind == wire.KindHCNLoadBalancers {
			continue // their policies print as "{@{...}}": nothing reliable to keep
		}
		out.HNS = append(out.HNS, HNSObject{Kind: kind, ID: strings.ToLower(o.str("id")), Schema: schema, Rank: rankText, Raw: raw})
		counts[kind]++
	}
	if len(out.HNS) == 0 {
		return nil
	}
	out.Detail = countDetail(counts)
	out.Notes = append(out.Notes, "PowerShell's list view drops nested fields (policies); ConvertTo-Json -Depth 20 gives the full objects")
	return out
}

// formatListBlocks splits PowerShell Format-List output into blocks of property -> value.
// Property names have no spaces; a line that starts with spaces continues the previous value.
func formatListBlocks(ls []string) []map[string]string {
	var blocks []map[string]string
	var cur map[string]string
	last := ""
	for _, line := range ls {
		if strings.TrimSpace(line) == "" {
			if cur != nil {
				blocks = append(blocks, cur)
				cur, last = nil, ""
			}
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			if k, v, ok := cut(line, " : "); ok && flKey.MatchString(k) {
				if cur == nil {
					cur = map[string]string{}
				}
				cur[k], last = v, k
				continue
			}
			if k, ok := strings.CutSuffix(strings.TrimSpace(line), " :"); ok && flKey.MatchString(strings.TrimSpace(k)) {
				k = strings.TrimSpace(k)
				if cur == nil {
					cur = map[string]string{}
				}
				cur[k], last = "", k
				continue
			}
			// Not a property line: this block (if any) ends.
			if cur != nil {
				blocks = append(blocks, cur)
				cur, last = nil, ""
			}
			continue
		}
		if cur != nil && last != "" {
			cur[last] += " " + strings.TrimSpace(line)
		}
	}
	if cur != nil {
		blocks = append(blocks, cur)
	}
	return blocks
}

// flKey is a PowerShell property name as Format-List prints it ("PingReplyDetails (RTT)" has a
// space; prose such as "WARNING: TCP connect to (10.0.0.10 : 80)" must not pass).
var flKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_ ().-]{0,48}$`)

var (
	flBool = map[string]bool{"isremoteendpoint": true, "enableinternaldns": true, "disableicc": true, "ipv6": true, "automaticdns": true}
	flInt  = map[string]bool{"state": true, "prefixlength": true, "flags": true}
	flList = map[string]bool{"dnsserverlist": true}
)

// flValue turns a Format-List value into JSON, or false when it is a flattened nested object.
func flValue(k, v string) (json.RawMessage, bool) {
	lk := strings.ToLower(k)
	switch {
	case strings.HasPrefix(v, "{") || strings.HasPrefix(v, "@{") || strings.HasPrefix(v, "System."):
		if lk == "subnets" {
			if subs := flSubnets(v); subs != nil {
				b, _ := json.Marshal(subs)
				return b, true
			}
		}
		return nil, false
	case flBool[lk]:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, false
		}
		return json.RawMessage(strconv.FormatBool(b)), true
	case flInt[lk]:
		if _, err := strconv.Atoi(v); err != nil {
			return nil, false
		}
		return json.RawMessage(v), true
	case flList[lk]:
		b, _ := json.Marshal(v)
		return b, true
	}
	b, _ := json.Marshal(v)
	return b, true
}

var atPairs = regexp.MustCompile(`@\{([^}]*)\}`)

// flSubnets reads "{@{AddressPrefix=10.244.1.0/24; GatewayAddress=10.244.1.1; ...}}".
func flSubnets(v string) []map[string]string {
	var out []map[string]string
	for _, m := range atPairs.FindAllStringSubmatch(v, -1) {
		s := map[string]string{}
		for _, kv := range strings.Split(m[1], ";") {
			if k, val, ok := cut(kv, "="); ok && (k == "AddressPrefix" || k == "GatewayAddress") {
				s[k] = val
			}
		}
		if s["AddressPrefix"] != "" {
			out = append(out, s)
		}
	}
	return out
}

// hnsCmdletRe names the HNS cmdlet a prompt line ran, however it was cased (Get-HNSNetwork,
// Get-HnsEndpoint) or spelled by the HCN helper modules (Get-HcnEndpoint).
var hnsCmdletRe = regexp.MustCompile(`(?i)\bGet-H[nc][sn](Endpoint|Network|PolicyList|LoadBalancer|Namespace)s?\b`)

// hnsTableCommand returns what the HNS cmdlet printing the table at header was about
// ("endpoint", "network", ...), when the command line is pasted just above it.
func hnsTableCommand(ls []string, header int) string {
	for i, seen := header-1, 0; i >= 0 && seen < 3; i-- {
		t := strings.TrimSpace(ls[i])
		if t == "" {
			continue
		}
		seen++
		if m := hnsCmdletRe.FindStringSubmatch(t); m != nil {
			return strings.ToLower(m[1])
		}
		if isPrompt(ls[i]) {
			return ""
		}
	}
	return ""
}

// cutValue reports a cell PowerShell shortened to fit the console ("cbr0_ep...", "cbr0_e…").
func cutValue(v string) bool { return strings.HasSuffix(v, "...") || strings.HasSuffix(v, "…") }

// recogniseHNSFormatTable reads Get-HnsEndpoint/Get-HnsNetwork | Format-Table (a header, a
// dashes row, columns where the dashes are). The objects hold only the columns printed, so they
// rank below Format-List and JSON of the same objects. A row that does not read (the last row
// of a paste cut mid-line, most often) is skipped and said.
func recogniseHNSFormatTable(d *Doc) *Output {
	ls := d.Lines()
	out := &Output{Format: "hns-format-table"}
	counts := map[string]int{}
	var cols []string
	skippedCut, skippedBad, skippedKind := 0, 0, map[string]int{}
	for _, t := range underlinedTables(ls, '-') {
		idCol := -1
		for k, c := range t.cols {
			if strings.EqualFold(c, "id") {
				idCol = k
			}
		}
		if idCol < 0 || len(t.rows) == 0 {
			continue
		}
		cmd := hnsTableCommand(ls, t.header)
		// How far the other rows reach: a row cut mid-line stops short of it.
		reach := -1
		for _, r := range t.rows[:len(t.rows)-1] {
			reach = max(reach, lastFilled(r))
		}
		tableUsed := false
		for ri, r := range t.rows {
			last := ri == len(t.rows)-1
			m, ok := hnsTableRow(t.cols, r, idCol)
			if ok && last && t.lastEnd == len(ls) && lastFilled(r) < reach {
				ok = false // the paste ends inside this row
			}
			if !ok {
				if last && t.lastEnd == len(ls) {
					skippedCut++
				} else {
					skippedBad++
				}
				continue
			}
			raw, err := json.Marshal(m)
			if err != nil {
				continue
			}
			o, _ := newJObj(raw)
			kind, schema := classifyHNS(o)
			switch cmd {
			case "endpoint":
				kind, schema = wire.KindHCNEndpoints, 1
			case "network":
				kind, schema = wire.KindHCNNetworks, 1
			case "policylist", "loadbalancer", "namespace":
				kind = "skip:" + cmd
			}
			switch {
			case kind == "":
				continue
			case cmd == "" && kind != wire.KindHCNEndpoints:
				// Without the command only an endpoint table says by its columns what it is
				// (IsRemoteEndpoint, VirtualNetwork). Id, Name and Type are also what
				// collectlogs.ps1 prints above the JSON of the same networks, which the JSON
				// reader has.
				continue
			case strings.HasPrefix(kind, "skip:"), kind == wire.KindHNSPolicyLists, kind == wire.KindHCNLoadBalancers:
				skippedKind[strings.TrimPrefix(kind, "skip:")]++
				continue
			}
			out.HNS = append(out.HNS, HNSObject{Kind: kind, ID: strings.ToLower(o.str("id")), Schema: schema, Rank: rankPartial, Raw: raw})
			counts[kind]++
			tableUsed = true
		}
		if tableUsed {
			for _, c := range t.cols {
				if !contains(cols, c) {
					cols = append(cols, c)
				}
			}
		}
	}
	if len(out.HNS) == 0 {
		if len(skippedKind) == 0 {
			return nil
		}
		out.Unused = true
		for k, n := range skippedKind {
			out.Notes = append(out.Notes, fmt.Sprintf("%d %s row(s) not used: a table cannot show their policies; use ConvertTo-Json -Depth 20", n, k))
		}
		return out
	}
	out.Detail = countDetail(counts) + " (partial: columns " + strings.Join(cols, ", ") + ")"
	out.Notes = append(out.Notes, "a table shows only the columns asked for; Get-HnsEndpoint | ConvertTo-Json -Depth 20 (or Format-List) gives the whole objects")
	if skippedCut > 0 {
		out.Notes = append(out.Notes, "the last row of the table is cut off and was skipped")
	}
	if skippedBad > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d row(s) did not read as HNS objects (no full ID, or a value of the wrong kind) and were skipped", skippedBad))
	}
	for k, n := range skippedKind {
		out.Notes = append(out.Notes, fmt.Sprintf("%d %s row(s) not used: a table cannot show their policies; use ConvertTo-Json -Depth 20", n, k))
	}
	return out
}

// lastFilled is the index of a row's last non-empty cell (-1 for none).
func lastFilled(r []string) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] != "" {
			return i
		}
	}
	return -1
}

// hnsTableRow turns one Format-Table row into object fields, or false when the row is not a
// whole object's: no full ID, or a typed column (a flag, a count, an address) that does not
// hold its type, which is how a row cut mid-line shows.
func hnsTableRow(cols, r []string, idCol int) (map[string]json.RawMessage, bool) {
	if idCol >= len(r) || !isGUID(r[idCol]) {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	for k, c := range cols {
		if c == "" || k >= len(r) {
			continue
		}
		v, lk := r[k], strings.ToLower(c)
		typed := flBool[lk] || flInt[lk]
		switch {
		case v == "" && typed:
			return nil, false
		case v == "", cutValue(v):
			continue
		case (lk == "ipaddress" || lk == "managementip") && !strings.HasPrefix(v, "{"):
			if _, err := netip.ParseAddr(v); err != nil {
				return nil, false
			}
		}
		jv, ok := flValue(c, v)
		if !ok {
			if typed {
				return nil, false
			}
			continue
		}
		m[c] = jv
	}
	return m, true
}

var (
	groupByIPRe     = regexp.MustCompile(`(?i)\bGroup-Object\s+(?:-Property\s+)?['"]?IPAddress\b`)
	getHnsEndpoint  = regexp.MustCompile(`(?i)\bGet-HnsEndpoint\b`)
	pipelineWordsRe = regexp.MustCompile(`(?i)\b(?:Where-Object|Select-Object|Sort-Object|Format-Table|Group-Object|ForEach-Object|Get-HnsEndpoint|Import-Module)\b|^\s*[|?{}]|\|\s*$`)
	ipCountRow      = regexp.MustCompile(`^\s*(\d{1,3}(?:\.\d{1,3}){3})\s+(\d+)\s*$`)
	countIPRow      = regexp.MustCompile(`^\s*(\d+)\s+(\d{1,3}(?:\.\d{1,3}){3})(?:\s|$)`)
)

// recogniseHNSEndpointGroups reads `Get-HnsEndpoint | Group-Object IPAddress` (often with
// `| Where-Object { $_.Count -gt 1 }`, the usual check for duplicated endpoint IPs): Group-Object's
// table (Count, Name, Group) or the IP and count alone, as users retype it. Each IP counted N
// times becomes N endpoints that hold only that IP. They are a subset: the paste says nothing of
// the IPs it filtered out, nor whether an endpoint is local or remote, so they prove presence
// (two endpoints share an IP), never absence.
func recogniseHNSEndpointGroups(d *Doc) *Output {
	ls := d.Lines()
	start := -1
	for i, l := range ls {
		if !groupByIPRe.MatchString(l) {
			continue
		}
		// The pipeline may be split over lines; Get-HnsEndpoint starts it.
		for j := i; j >= 0 && j >= i-3; j-- {
			if getHnsEndpoint.MatchString(ls[j]) {
				start = i
				break
			}
		}
		if start >= 0 {
			break
		}
	}
	if start < 0 {
		return nil
	}
	out := &Output{Format: "hns-endpoint-ip-groups"}
	ips := 0
	rows := false
scan:
	for _, l := range ls[start+1:] {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			continue
		case isPrompt(l):
			if rows {
				break scan
			}
			continue
		case !rows && pipelineWordsRe.MatchString(l):
			continue // the rest of the pipeline
		case strings.HasPrefix(t, "Count") || strings.Trim(t, "- ") == "":
			continue // Group-Object's header and its underline
		}
		ip, n := "", 0
		if m := ipCountRow.FindStringSubmatch(l); m != nil {
			ip, n = m[1], atoiSafe(m[2])
		} else if m := countIPRow.FindStringSubmatch(l); m != nil {
			ip, n = m[2], atoiSafe(m[1])
		} else {
			if rows {
				break scan
			}
			continue
		}
		if net.ParseIP(ip) == nil || n < 1 || n > 64 {
			continue
		}
		rows = true
		ips++
		raw, _ := json.Marshal(map[string]string{"IPAddress": ip})
		for range n {
			out.HNS = append(out.HNS, HNSObject{Kind: wire.KindHCNEndpoints, Schema: 1, Rank: rankPartial, Raw: raw, Subset: true})
		}
	}
	if len(out.HNS) == 0 {
		return nil
	}
	out.Detail = fmt.Sprintf("%d endpoint IPs grouped, %d endpoints", ips, len(out.HNS))
	out.Notes = append(out.Notes, "Group-Object output holds only IPs and counts: the endpoints are known by IP alone (not whether local or remote), and IPs the pipeline filtered out are not known; Get-HnsEndpoint | ConvertTo-Json -Depth 4 gives them whole")
	return out
}

func atoiSafe(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}
