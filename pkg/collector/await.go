package collector

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Await runs fn in a goroutine of its own and returns its result, or ctx's error as soon as
// ctx is done, whichever comes first.
//
// Why: Windows cannot cancel an HNS or SCM call in flight. A source wraps such calls in Await
// so it can give up at its deadline; the call goes on in the background and its result is
// dropped. A panic in fn comes back as an error, because the runtime's recover does not reach
// goroutines a source starts itself.
func Await[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1) // buffered: an abandoned call must not block forever
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- result{err: fmt.Errorf("panic in a node call: %v; this is a collector bug, please report it (stack: %s)", p, debug.Stack())}
			}
		}()
		v, err := fn()
		ch <- result{v: v, err: err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
