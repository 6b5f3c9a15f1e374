//go:build windows

package main

import (
	"time"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/winsrc"
)

func nodeSources(since time.Duration, podIP string) ([]collector.Source, error) {
	return winsrc.Sources(winsrc.Options{Since: since, PodIP: podIP}), nil
}
