// Command etcd is upstream's etcd main (go.etcd.io/etcd/v3/main.go), verbatim.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
