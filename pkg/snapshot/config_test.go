package snapshot

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kubectl-winnet/winnet/pkg/wire"
)

func fileRecord(path, role, content string) wire.Record {
	raw, _ := json.Marshal(wire.FileData{Path: path, Role: role, Content: content})
	return wire.Record{V: 1, Type: wire.TypeArtifact, Kind: wire.KindFile, Data: raw}
}

func TestParseCNIConfig(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    CNIConfig
	}{
		{"flannel delegating to sdnbridge (hack/scenarios/healthy-l2bridge)", `{"cniVersion":"0.3.0","name":"cbr0","type":"flannel",
		  "capabilities":{"portMappings":true,"dns":true},
		  "delegate":{"type":"sdnbridge","optionalFlags":{"forceBridgeGateway":true},"policies":[
		    {"Name":"EndpointPolicy","Value":{"Type":"OutBoundNAT","Settings":{"Exceptions":["10.244.0.0/16","10.96.0.0/12","10.0.0.0/16"]}}},
		    {"Name":"EndpointPolicy","Value":{"Type":"SDNRoute","Settings":{"DestinationPrefix":"10.96.0.0/12","NeedEncap":true}}}]}}`,
			CNIConfig{Name: "cbr0", CNIVersion: "0.3.0", Type: "flannel", Plugins: []string{"flannel", "sdnbridge"}, DelegateType: "sdnbridge",
				HasOutBoundNAT: true, OutBoundNATExceptions: []string{"10.244.0.0/16", "10.96.0.0/12", "10.0.0.0/16"},
				Routes: []SDNRoute{{DestinationPrefix: "10.96.0.0/12", NeedEncap: true}}, DNSCapability: true}},
		// Shape of Azure's azure-vnet conflist (Azure/azure-container-networking cni/azure-windows.conflist).
		{"azure-vnet conflist with v1 policies in AdditionalArgs", `{"cniVersion":"0.3.0","name":"azure","adapterName":"","plugins":[{
		  "type":"azure-vnet","mode":"bridge","bridge":"azure0","capabilities":{"portMappings":true,"dns":true},"ipam":{"type":"azure-vnet-ipam"},
		  "dns":{"Nameservers":["10.0.0.10","168.63.129.16"],"Search":["svc.cluster.local"]},
		  "AdditionalArgs":[{"Name":"EndpointPolicy","Value":{"Type":"OutBoundNAT","ExceptionList":["10.240.0.0/16","10.0.0.0/8"]}},
		    {"Name":"EndpointPolicy","Value":{"Type":"ROUTE","DestinationPrefix":"10.0.0.0/16","NeedEncap":true}}],
		  "windowsSettings":{"enableLoopbackDSR":true}}]}`,
			CNIConfig{Name: "azure", CNIVersion: "0.3.0", Type: "azure-vnet", Plugins: []string{"azure-vnet"}, IPAMType: "azure-vnet-ipam", Mode: "bridge",
				HasOutBoundNAT: true, OutBoundNATExceptions: []string{"10.240.0.0/16", "10.0.0.0/8"}, Routes: []SDNRoute{{DestinationPrefix: "10.0.0.0/16", NeedEncap: true}},
				DNSServers: []string{"10.0.0.10", "168.63.129.16"}, DNSSearch: []string{"svc.cluster.local"}, DNSCapability: true, LoopbackDSR: true}},
		// The unrendered Calico template (projectcalico/calico node/windows-packaging/CalicoWindows/cni.conf.template).
		{"calico template left unrendered", `{"name":"Calico","windows_use_single_network":true,"cniVersion":"0.3.1","type":"calico","mode":"__MODE__",
		  "vxlan_vni": __VNI__, "ipam":{"type":"__IPAM_TYPE__","subnet":"usePodCidr"},
		  "policies":[{"Name":"EndpointPolicy","Value":{"Type":"OutBoundNAT","ExceptionList":["__K8S_SERVICE_CIDR__"]}}]}`,
			CNIConfig{Placeholders: []string{"__MODE__", "__VNI__", "__IPAM_TYPE__", "__K8S_SERVICE_CIDR__"}}},
		{"win-bridge with apiVersion 2 and lower-case policy keys", `{"cniVersion":"0.2.0","name":"cbr0","type":"win-bridge","apiVersion":2,"mtu":1450,
		  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]]},
		  "policies":[{"name":"EndpointPolicy","value":{"type":"OutBoundNAT","settings":{"exceptions":["10.244.0.0/16"]}}}]}`,
			CNIConfig{Name: "cbr0", CNIVersion: "0.2.0", Type: "win-bridge", Plugins: []string{"win-bridge"}, APIVersion: 2, MTU: 1450, IPAMType: "host-local",
				Subnets: []string{"10.244.1.0/24"}, HasOutBoundNAT: true, OutBoundNATExceptions: []string{"10.244.0.0/16"}}},
		{"values that are not ranges", `{"name":"x","type":"win-overlay","ipam":{"subnet":"10.244.1.0"},
		  "policies":[{"Name":"EndpointPolicy","Value":{"Type":"OutBoundNAT","Settings":{"Exceptions":["cluster"]}}}]}`,
			CNIConfig{Name: "x", Type: "win-overlay", Plugins: []string{"win-overlay"}, HasOutBoundNAT: true,
				Invalid: []string{`ipam.subnet "10.244.1.0" is not a CIDR`, `OutBoundNAT exception "cluster" is not a CIDR`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseCNIConfig(`C:\etc\cni\net.d\10.conf`, tt.content)
			tt.want.Path = `C:\etc\cni\net.d\10.conf`
			opts := []cmp.Option{cmpopts.EquateEmpty()}
			if len(tt.want.Placeholders) > 0 {
				if got.ParseError == "" {
					t.Error("placeholders outside quotes should make the JSON invalid")
				}
				opts = append(opts, cmpopts.IgnoreFields(CNIConfig{}, "ParseError"))
			}
			if diff := cmp.Diff(tt.want, got, opts...); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCNIConfigsInLoadOrder(t *testing.T) {
	b := NewBuilder("n1")
	b.Add(fileRecord(`C:\etc\cni\net.d\20-b.conflist`, wire.RoleCNIConfig, `{"name":"b","type":"win-bridge"}`))
	b.Add(fileRecord(`C:\etc\cni\net.d\10-a.conf`, "", `{"name":"a","type":"flannel"}`)) // role inferred from the path
	s := b.Snapshot()
	if len(s.CNIConfigs) != 2 || s.ActiveCNI().Name != "a" {
		t.Fatalf("configs = %+v, want 10-a first", s.CNIConfigs)
	}
}

func TestKubeProxyConfig(t *testing.T) {
	config := `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: kernelspace
clusterCIDR: 10.244.0.0/16
hostnameOverride: win-1
featureGates:
  WinDSR: true
winkernel:
  networkName: vxlan0
  sourceVip: 10.244.1.2
  enableDSR: true
`
	tests := []struct {
		name  string
		files []wire.Record
		want  KubeProxyConfig
	}{
		{"config file", []wire.Record{fileRecord(`C:\k\kube-proxy-config.yaml`, wire.RoleKubeProxyConfig, config)},
			KubeProxyConfig{Sources: []string{`C:\k\kube-proxy-config.yaml`}, NetworkName: "vxlan0", SourceVIP: "10.244.1.2", EnableDSR: ptrTo(true),
				FeatureGates: map[string]bool{"WinDSR": true}, HostnameOverride: "win-1", ClusterCIDR: "10.244.0.0/16", Mode: "kernelspace"}},
		{"command line overrides the file", []wire.Record{
			fileRecord(`C:\k\kube-proxy-config.yaml`, wire.RoleKubeProxyConfig, config),
			fileRecord(`service ImagePath`, wire.RoleKubeProxyArgs, `C:\k\kube-proxy.exe --v=4 --source-vip 10.244.1.3 --enable-dsr=false --feature-gates=WinDSR=true,WinOverlay=true --hostname-override=$env:NODE`)},
			KubeProxyConfig{Sources: []string{`C:\k\kube-proxy-config.yaml`, `service ImagePath`}, NetworkName: "vxlan0", SourceVIP: "10.244.1.3", EnableDSR: ptrTo(false),
				FeatureGates: map[string]bool{"WinDSR": true, "WinOverlay": true}, HostnameOverride: "win-1", ClusterCIDR: "10.244.0.0/16", Mode: "kernelspace"}},
		{"start script with KUBE_NETWORK and a bare boolean flag", []wire.Record{
			fileRecord(`C:\k\start-kubeproxy.ps1`, wire.RoleKubeProxyArgs, "$env:KUBE_NETWORK=\"cbr0\"\nc:\\k\\kube-proxy.exe --enable-dsr --proxy-mode=kernelspace --cluster-cidr=10.244.0.0/16")},
			KubeProxyConfig{Sources: []string{`C:\k\start-kubeproxy.ps1`}, NetworkName: "cbr0", EnableDSR: ptrTo(true), Mode: "kernelspace", ClusterCIDR: "10.244.0.0/16"}},
		{"logged flags fill gaps but never override, and default values are ignored", []wire.Record{
			fileRecord(`C:\k\kube-proxy-config.yaml`, wire.RoleKubeProxyConfig, config),
			fileRecord(`C:\k\kube-proxy.log`, wire.RoleLogPrefix+wire.LogKubeProxy, `I1126 00:58:10.000000 4242 flags.go:64] FLAG: --source-vip="10.9.9.9"
I1126 00:58:10.000000 4242 flags.go:64] FLAG: --enable-dsr="false"
I1126 00:58:10.000000 4242 flags.go:64] FLAG: --healthz-bind-address="0.0.0.0:10256"
I1126 00:58:10.101234 4242 server.go:556] "Version info" version="v1.34.1"`)},
			KubeProxyConfig{Sources: []string{`C:\k\kube-proxy-config.yaml`, `C:\k\kube-proxy.log`}, NetworkName: "vxlan0", SourceVIP: "10.244.1.2", EnableDSR: ptrTo(true),
				FeatureGates: map[string]bool{"WinDSR": true}, HostnameOverride: "win-1", ClusterCIDR: "10.244.0.0/16", Mode: "kernelspace",
				HealthzBindAddress: "0.0.0.0:10256", Version: "v1.34.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder("n1")
			for _, r := range tt.files {
				b.Add(r)
			}
			s := b.Snapshot()
			if s.KubeProxy == nil {
				t.Fatal("no kube-proxy config parsed")
			}
			if diff := cmp.Diff(tt.want, *s.KubeProxy); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
	if s := NewBuilder("n").Snapshot(); s.KubeProxy != nil {
		t.Fatal("a kube-proxy config out of nothing")
	}
}

func TestKubeletFlannelAndIPAM(t *testing.T) {
	b := NewBuilder("n1")
	b.Add(fileRecord(`C:\var\lib\kubelet\config.yaml`, wire.RoleKubeletConfig, "kind: KubeletConfiguration\nclusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\n"))
	b.Add(fileRecord(`kubelet args`, wire.RoleKubeletArgs, `kubelet.exe --container-runtime-endpoint=npipe:////./pipe/containerd-containerd --cluster-dns=10.96.0.11`))
	b.Add(fileRecord(`C:\etc\kube-flannel\net-conf.json`, "", `{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}`))
	b.Add(fileRecord(`C:\run\flannel\subnet.env`, "", "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"))
	b.Add(fileRecord(`C:\k\azure-vnet-ipam.json`, "", `{"IPAM":{"AddressSpaces":{"local":{"Pools":{"10.240.0.0/16":{"Addresses":{
	  "10.240.0.5":{"InUse":true},"10.240.0.6":{"InUse":false},"10.240.0.7":{"InUse":true}}}}}}}}`))
	s := b.Snapshot()
	wantKL := KubeletConfig{Sources: []string{`C:\var\lib\kubelet\config.yaml`, "kubelet args"}, ClusterDNS: []string{"10.96.0.11"}, ClusterDomain: "cluster.local",
		ContainerRuntimeEndpoint: "npipe:////./pipe/containerd-containerd"}
	if diff := cmp.Diff(&wantKL, s.Kubelet); diff != "" {
		t.Errorf("kubelet (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&FlannelConfig{Network: "10.244.0.0/16", Backend: "vxlan", VNI: 4096, Port: 4789, Subnet: "10.244.1.1/24", MTU: 1450}, s.Flannel); diff != "" {
		t.Errorf("flannel (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]IPAMPool{{Source: `C:\k\azure-vnet-ipam.json`, Prefix: "10.240.0.0/16", Total: 3, InUse: 2}}, s.IPAMPools); diff != "" {
		t.Errorf("ipam (-want +got):\n%s", diff)
	}
}

func TestInferRole(t *testing.T) {
	for path, want := range map[string]string{
		`C:\etc\cni\net.d\10-flannel.conf`:                       wire.RoleCNIConfig,
		`C:\Program Files\containerd\cni\conf\0-calico.conflist`: wire.RoleCNIConfig,
		`C:\Program Files\containerd\config.toml`:                wire.RoleContainerdConfig,
		`C:\k\kube-proxy.log`:                                    wire.RoleLogPrefix + wire.LogKubeProxy,
		`C:\var\log\kubeproxy\kubeproxy.err.log`:                 wire.RoleLogPrefix + wire.LogKubeProxy,
		`C:\k\kubelet.log.1`:                                     wire.RoleLogPrefix + wire.LogKubelet,
		`C:\k\kube-proxy-config.yaml`:                            wire.RoleKubeProxyConfig,
		`C:\var\lib\kubelet\config.yaml`:                         wire.RoleKubeletConfig,
		`C:\etc\kube-flannel\net-conf.json`:                      wire.RoleFlannelConfig,
		`C:\run\flannel\subnet.env`:                              wire.RoleFlannelSubnetEnv,
		`C:\k\azure-vnet-ipam.json`:                              wire.RoleIPAMState,
		`C:\Windows\notepad.exe`:                                 "",
	} {
		if got := InferRole(path); got != want {
			t.Errorf("InferRole(%q) = %q, want %q", path, got, want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestInferArgsRoles(t *testing.T) {
	for path, want := range map[string]string{
		`C:\k\kubeproxy.args`:            wire.RoleKubeProxyArgs,
		`C:\hpc\kube-proxy\args.txt`:     wire.RoleKubeProxyArgs,
		`C:\k\start-kubeproxy.ps1`:       wire.RoleKubeProxyArgs,
		`C:\k\kubelet.args`:              wire.RoleKubeletArgs,
		`C:\hpc\kube-proxy\config.yaml`:  wire.RoleKubeProxyConfig,
		`C:\var\log\kubelet\kubelet.log`: wire.RoleLogPrefix + wire.LogKubelet,
	} {
		if got := InferRole(path); got != want {
			t.Errorf("InferRole(%q) = %q, want %q", path, got, want)
		}
	}
}
