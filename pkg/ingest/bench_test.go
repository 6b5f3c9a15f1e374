package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoadLogs reads a folder like a support case's: a long kube-proxy log (real lines
// from the corpus, repeated to 16 MB) beside an HNS dump. The throughput (MB/s) is how long
// `analyze` keeps a user waiting on a big collectlogs folder.
func BenchmarkLoadLogs(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("..", "analyze", "testdata", "public", "k8s-100384-lb-reference-invalid", "input", "kube-proxy-stderr.log"))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var sb strings.Builder
	for sb.Len() < 16<<20 {
		sb.Write(src)
	}
	if err := os.WriteFile(filepath.Join(dir, "kube-proxy.log"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Load([]string{dir}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Records) == 0 {
			b.Fatal("nothing read")
		}
	}
}
