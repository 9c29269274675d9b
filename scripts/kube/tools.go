//go:build tools

// Package tools pins the control-plane commands into this module's build graph so that
// `go mod tidy` keeps their dependencies in go.sum; kube.sh builds them by import path.
// kubectl is not needed by the tests, only by people debugging them.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
