$global:KubeDir = "c:\k"
$env:AAD_CLIENT_SECRET = "Plant3dEnvSecret22"
$global:ClusterDnsIp = "10.96.0.10"
c:\k\kubelet.exe --bootstrap-kubeconfig=c:\k\bootstrap-config --token Plant3dSpacedToken23 --cluster-dns=10.96.0.10 --cluster-domain=cluster.local --hostname-override=win-node-1
