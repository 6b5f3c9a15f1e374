package wincmd

import (
	"context"
	"io"
	"sync"
)

// input is a standard input shared by the commands of one cmd.exe line, as the one inherited
// handle is on Windows. Reads can be cancelled (a finished child must stop reading at once),
// and bytes a child took but never consumed are put back, so a later command still sees them.
// A single pump goroutine reads the source, which may block for as long as the remote client
// keeps stdin open.
type input struct {
	src    io.Reader
	lock   chan struct{} // held by the one reader at a time
	chunks chan chunk
	done   chan struct{}
	once   sync.Once
	start  sync.Once

	// Owned by the lock holder.
	pending []byte
	err     error // sticky end of the source (io.EOF or a read error)
}

type chunk struct {
	data []byte
	err  error
}

// newInput wraps src; a nil src is an empty stdin (the client sent none).
func newInput(src io.Reader) *input {
	in := &input{
		src:    src,
		lock:   make(chan struct{}, 1),
		chunks: make(chan chunk),
		done:   make(chan struct{}),
	}
	if src == nil {
		in.err = io.EOF
	}
	return in
}

func (in *input) pump() {
	for {
		buf := make([]byte, 32*1024)
		n, err := in.src.Read(buf)
		if n == 0 && err == nil {
			continue
		}
		select {
		case in.chunks <- chunk{data: buf[:n], err: err}:
		case <-in.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// read reads into p, giving up when ctx ends.
func (in *input) read(ctx context.Context, p []byte) (int, error) {
	select {
	case in.lock <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-in.lock }()
	if len(p) == 0 {
		return 0, nil
	}
	if len(in.pending) > 0 {
		n := copy(p, in.pending)
		in.pending = in.pending[n:]
		return n, nil
	}
	if in.err != nil {
		return 0, in.err
	}
	in.start.Do(func() { go in.pump() })
	select {
	case c := <-in.chunks:
		if c.err != nil {
			in.err = c.err
		}
		n := copy(p, c.data)
		in.pending = c.data[n:]
		if n == 0 {
			return 0, c.err
		}
		return n, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// unread puts back bytes a consumer read but could not hand on.
func (in *input) unread(b []byte) {
	if len(b) == 0 {
		return
	}
	in.lock <- struct{}{}
	defer func() { <-in.lock }()
	in.pending = append(append([]byte(nil), b...), in.pending...)
}

// close releases the pump; later reads of the source are abandoned.
func (in *input) close() { in.once.Do(func() { close(in.done) }) }

// reader adapts in to io.Reader for one consumer bound to ctx.
func (in *input) reader(ctx context.Context) io.Reader { return inputReader{ctx: ctx, in: in} }

type inputReader struct {
	ctx context.Context
	in  *input
}

func (r inputReader) Read(p []byte) (int, error) { return r.in.read(r.ctx, p) }
