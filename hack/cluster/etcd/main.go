// Command etcd is etcd's own server entry point, built in this module so it shares the exact
// go.etcd.io/etcd/server/v3 version that k8s.io/kubernetes v1.37.2 pins.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
