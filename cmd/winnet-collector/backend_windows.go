//go:build windows

package main

import (
	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/winsrc"
)

func nodeSources() ([]collector.Source, error) { return winsrc.Sources(), nil }
