package winsrc

import (
	"context"

	"github.com/kubectl-winnet/winnet/pkg/collector"
	"github.com/kubectl-winnet/winnet/pkg/collector/nodefiles"
	"github.com/kubectl-winnet/winnet/pkg/wire"
)

// filesSource reads the node's configs and log tails through nodefiles, which holds the table
// of paths, the size caps and the redaction; on the node the root is the real file system.
type filesSource struct{ root nodefiles.Root }

func (filesSource) Name() string { return "files" }

func (s filesSource) Collect(ctx context.Context, out collector.Emitter) error {
	_, err := nodefiles.Collect(ctx, s.root, nodefiles.Sink{
		File:  func(fd wire.FileData) error { return out.Artifact(wire.KindFile, fd) },
		Error: func(err error) { _ = out.Error(err) },
		Logf:  out.Logf,
	})
	return err
}
