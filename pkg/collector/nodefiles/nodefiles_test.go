package nodefiles

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func TestParseContainerdCNI(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want CNIDirs
	}{
		{name: "version 2 with escapes", toml: `version = 2
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "mcr.microsoft.com/oss/kubernetes/pause:3.9"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "C:\\opt\\cni\\bin" # where the plugins are
      conf_dir = "C:\\etc\\cni\\net.d"
      conf_template = ""
  [plugins."io.containerd.grpc.v1.cri".containerd]
    conf_dir = "C:\\not\\this"
`, want: CNIDirs{ConfDirs: []string{`C:\etc\cni\net.d`}, BinDirs: []string{`C:\opt\cni\bin`}}},
		{name: "version 3 literal strings and bin_dirs", toml: "version = 3\r\n[plugins.'io.containerd.cri.v1.runtime'.cni]\r\n  bin_dirs = ['C:\\k\\cni', \"C:\\\\opt\\\\cni\\\\bin\"]\r\n  conf_dir = 'C:\\k\\cni\\config'\r\n",
			want: CNIDirs{ConfDirs: []string{`C:\k\cni\config`}, BinDirs: []string{`C:\k\cni`, `C:\opt\cni\bin`}}},
		{name: "version 1", toml: "[plugins.cri.cni]\nconf_dir = \"C:/etc/cni/net.d\"\n", want: CNIDirs{ConfDirs: []string{"C:/etc/cni/net.d"}}},
		{name: "# inside a string is not a comment", toml: "[plugins.cri.cni]\nconf_dir = \"C:\\\\odd#dir\" # comment\n", want: CNIDirs{ConfDirs: []string{`C:\odd#dir`}}},
		{name: "commented out", toml: "[plugins.cri.cni]\n# conf_dir = \"C:\\\\x\"\n", want: CNIDirs{}},
		{name: "unterminated and garbage", toml: "[plugins.cri.cni]\nconf_dir = \"C:\\\\x\nbin_dir = 42\nbin_dirs = [\"a\", 7]\n", want: CNIDirs{BinDirs: []string{"a"}}},
		{name: "other plugin's cni table", toml: "[plugins.\"io.containerd.other\".cni]\nconf_dir = 'C:\\x'\n", want: CNIDirs{}},
		{name: "empty", toml: "", want: CNIDirs{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseContainerdCNI(tt.toml); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseContainerdCNI = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRoleFor(t *testing.T) {
	tests := map[string]string{
		`C:\k\kube-proxy.log`:                     "log:kube-proxy",
		`c:\K\KUBEPROXY.ERR.LOG`:                  "log:kube-proxy",
		`C:\var\log\kubelet\kubelet.log`:          "log:kubelet",
		`C:\k\kubelet.log.1`:                      "log:kubelet",
		`C:\etc\cni\net.d\10-flannel.conf`:        "cni-config",
		`C:\k\cni\config\cni.conflist`:            "cni-config",
		`C:\Program Files\containerd\config.toml`: "containerd-config",
		`C:\ProgramData\containerd\x.toml`:        "containerd-config",
		`C:\CalicoWindows\logs\calico-node.log`:   "log:calico",
		`C:\var\lib\kubelet\config.yaml`:          "kubelet-config",
		`C:\k\config`:                             "kubeconfig",
		`C:\run\flannel\subnet.env`:               "flannel-subnet-env",
		`C:\k\azure-vnet-ipam.json`:               "ipam-state",
		`C:\k\azure-vnet.log`:                     "log:azure-vnet",
		`C:\k\kubeclusterconfig.json`:             "",
		`C:\k\notes.txt`:                          "",
	}
	for p, want := range tests {
		if got := RoleFor(p); got != want {
			t.Errorf("RoleFor(%s) = %q, want %q", p, got, want)
		}
	}
	if ClassFor(`C:\k\kube-proxy.log`, "log:kube-proxy") != Log || ClassFor(`C:\x\y.log`, "log:kubelet") != Log || ClassFor(`C:\k\config`, "kubeconfig") != Config {
		t.Errorf("ClassFor does not keep logs' tails and configs whole")
	}
}

// TestTable keeps the candidate table sane: Windows paths, valid patterns, known roles.
func TestTable(t *testing.T) {
	roles := map[string]bool{"": true, wire.RoleContainerdConfig: true, wire.RoleKubeletConfig: true, wire.RoleKubeletArgs: true,
		wire.RoleKubeProxyConfig: true, wire.RoleKubeProxyArgs: true, wire.RoleFlannelConfig: true, wire.RoleFlannelSubnetEnv: true,
		wire.RoleCalicoConfig: true, wire.RoleIPAMState: true, wire.RoleKubeconfig: true}
	for _, c := range []string{wire.LogKubeProxy, wire.LogKubelet, wire.LogFlanneld, wire.LogCalico, wire.LogContainerd, wire.LogAzureVnet, wire.LogCSIProxy} {
		roles[wire.RoleLogPrefix+c] = true
	}
	seen := map[string]bool{}
	for _, c := range append(append([]Candidate{}, ContainerdConfigs...), Candidates...) {
		if !strings.HasPrefix(c.Path, `C:\`) || strings.Contains(c.Path, "/") {
			t.Errorf("%s is not a Windows path on C:", c.Path)
		}
		dir, base := splitWin(c.Path)
		if hasWildcard(dir) {
			t.Errorf("%s: only the last element may hold wildcards", c.Path)
		}
		if _, err := filepath.Match(base, "x"); err != nil {
			t.Errorf("%s: bad pattern: %v", c.Path, err)
		}
		if !roles[c.Role] {
			t.Errorf("%s: unknown role %q", c.Path, c.Role)
		}
		if (c.Class == Log) != strings.HasPrefix(c.Role, wire.RoleLogPrefix) {
			t.Errorf("%s: class and role disagree", c.Path)
		}
		if seen[strings.ToLower(c.Path)] {
			t.Errorf("%s is listed twice", c.Path)
		}
		seen[strings.ToLower(c.Path)] = true
	}
}

type node struct {
	t   *testing.T
	dir string
}

func (n node) write(winPath, content string, age time.Duration) {
	n.t.Helper()
	p := FolderRoot(n.dir)(winPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		n.t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		n.t.Fatal(err)
	}
}

type collected struct {
	files map[string]wire.FileData
	order []string
	errs  []error
	seen  *Seen
}

func collect(t *testing.T, dir string) collected {
	t.Helper()
	c := collected{files: map[string]wire.FileData{}}
	seen, err := Collect(context.Background(), FolderRoot(dir), Sink{
		File: func(fd wire.FileData) error {
			if _, dup := c.files[fd.Path]; dup {
				t.Errorf("%s sent twice", fd.Path)
			}
			c.files[fd.Path] = fd
			c.order = append(c.order, fd.Path)
			return nil
		},
		Error: func(err error) { c.errs = append(c.errs, err) },
	})
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	c.seen = seen
	return c
}

func TestCollect(t *testing.T) {
	n := node{t, t.TempDir()}
	n.write(`C:\Program Files\containerd\config.toml`, "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\n  conf_dir = \"C:\\\\custom\\\\net.d\"\n  bin_dir = \"C:\\\\custom\\\\bin\"\n", 0)
	n.write(`C:\custom\net.d\10-calico.conflist`, `{"name":"Calico","plugins":[{"type":"calico","kubernetes":{"k8s_auth_token":"Plant3dCNIToken"}}]}`, 0)
	n.write(`C:\custom\net.d\readme.txt`, "not a CNI config", 0)
	n.write(`C:\etc\cni\net.d\10-flannel.conf`, `{"name":"cbr0","type":"flannel"}`, 0)
	n.write(`C:\custom\bin\sdnbridge.exe`, "MZ", 0)
	n.write(`C:\custom\bin\host-local.exe`, "MZ", 0)
	n.write(`C:\k\config`, "users:\n- name: x\n  user:\n    token: Plant3dKubeconfigToken\n", 0)
	n.write(`C:\k\kube-proxy.exe`, "MZ", 0)
	big := strings.Repeat("I1126 00:58:10.101234 4242 proxier.go:1] \"Syncing\"\n", MaxLogBytes/40)
	n.write(`C:\k\kube-proxy.log`, big+"E1126 --token=Plant3dLogToken last line\n", 0)
	for i, age := range []time.Duration{5, 1, 4, 2, 3} {
		n.write(`C:\var\log\kube-proxy\kp`+string(rune('a'+i))+`.log`, "x\n", age*time.Hour)
	}
	if err := os.MkdirAll(FolderRoot(n.dir)(`C:\var\lib\kubelet\config.yaml`), 0o755); err != nil {
		t.Fatal(err) // a folder where a file is expected: skipped, not an error
	}

	c := collect(t, n.dir)
	if len(c.errs) > 0 {
		t.Errorf("errors: %v", c.errs)
	}
	want := map[string]string{ // path -> role
		`C:\Program Files\containerd\config.toml`: wire.RoleContainerdConfig,
		`C:\custom\net.d\10-calico.conflist`:      wire.RoleCNIConfig,
		`C:\etc\cni\net.d\10-flannel.conf`:        wire.RoleCNIConfig,
		`C:\custom\bin`:                           wire.RoleCNIBinaries,
		`C:\k\config`:                             wire.RoleKubeconfig,
		`C:\k\kube-proxy.log`:                     "log:kube-proxy",
		`C:\var\log\kube-proxy\kpb.log`:           "log:kube-proxy",
		`C:\var\log\kube-proxy\kpd.log`:           "log:kube-proxy",
		`C:\var\log\kube-proxy\kpe.log`:           "log:kube-proxy",
	}
	for p, role := range want {
		if fd, ok := c.files[p]; !ok || fd.Role != role {
			t.Errorf("%s = %+v (sent %v), want role %q", p, fd, ok, role)
		}
	}
	if len(c.files) != len(want) {
		t.Errorf("sent %v, want exactly %d files", c.order, len(want))
	}
	if c.order[0] != `C:\Program Files\containerd\config.toml` {
		t.Errorf("containerd's config must come first (it names the CNI folders): %v", c.order)
	}
	if got := c.files[`C:\custom\bin`].Content; got != "host-local.exe\nsdnbridge.exe\n" {
		t.Errorf("CNI binaries listing = %q", got)
	}
	log := c.files[`C:\k\kube-proxy.log`]
	if !log.Truncated || log.Size != int64(len(big)+len("E1126 --token=Plant3dLogToken last line\n")) || len(log.Content) > MaxLogBytes ||
		!strings.HasSuffix(log.Content, "E1126 --token=[REDACTED:secret] last line\n") || log.Redacted != 1 {
		t.Errorf("log tail: truncated %v size %d len %d redacted %d, ends %q", log.Truncated, log.Size, len(log.Content), log.Redacted, log.Content[max(0, len(log.Content)-60):])
	}
	for p, fd := range c.files {
		if strings.Contains(fd.Content, "Plant3d") {
			t.Errorf("%s leaks a planted secret: %s", p, fd.Content)
		}
	}
	if c.files[`C:\k\config`].Redacted != 1 || c.files[`C:\custom\net.d\10-calico.conflist`].Redacted != 1 {
		t.Errorf("redaction counts not recorded")
	}
	for p, want := range map[string]bool{`C:\K\CONFIG`: true, `C:\custom\bin\sdnbridge.exe`: true, `C:\k\kube-proxy.exe`: false, `C:\var\log\kube-proxy\kpa.log`: false} {
		if c.seen.Covers(p) != want {
			t.Errorf("Covers(%s) = %v, want %v", p, !want, want)
		}
	}
}

func TestCollectBudget(t *testing.T) {
	old := totalBudget
	totalBudget = 10
	t.Cleanup(func() { totalBudget = old })
	n := node{t, t.TempDir()}
	n.write(`C:\k\config`, "apiVersion: v1\nkind: Config\n", 0)
	n.write(`C:\k\kube-proxy.log`, "line\n", 0)
	n.write(`C:\k\kubelet.log`, "line\n", 0)
	c := collect(t, n.dir)
	if len(c.files) != 1 || len(c.errs) != 1 || !strings.Contains(c.errs[0].Error(), "2 file(s) were not sent because the run's file budget") {
		t.Errorf("files %v, errors %v; want one file and one error naming the two skipped", c.order, c.errs)
	}
}

func TestCollectStopsWhenTheStreamIsGone(t *testing.T) {
	n := node{t, t.TempDir()}
	n.write(`C:\k\config`, "a", 0)
	n.write(`C:\k\kubelet.log`, "b", 0)
	calls := 0
	gone := errors.New("broken pipe")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Collect(ctx, FolderRoot(n.dir), Sink{
		File:  func(wire.FileData) error { calls++; cancel(); return gone },
		Error: func(error) {},
	})
	if !errors.Is(err, gone) || calls != 1 {
		t.Errorf("Collect = %v after %d sends, want the stream's error after 1", err, calls)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(filepath.Join(dir, "missing"), `C:\missing`, "", Config); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Read(dir, `C:\k`, "", Config); !errors.Is(err, ErrNotFile) || !strings.Contains(err.Error(), `C:\k is not a regular file`) {
		t.Errorf("folder: %v", err)
	}
}

func TestFolderRoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "c", "k"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, want := FolderRoot(dir)(`C:\k\config`), filepath.Join(dir, "c", "k", "config"); got != want {
		t.Errorf("lower-case drive folder: %s, want %s", got, want)
	}
	if got := FolderRoot(dir)(`relative\x`); !strings.HasPrefix(got, dir) {
		t.Errorf("a path without a drive escapes the folder: %s", got)
	}
}
