// Package usererr is the one shape of a user-facing error: a complete sentence (what happened,
// why, what to do) that still matches its sentinel with errors.Is and, when there is one, the
// underlying cause (so apierrors.IsForbidden and friends keep working on it).
package usererr

import "fmt"

// Error is a sentence with a sentinel kind and an optional cause.
type Error struct {
	Kind  error
	Msg   string
	Cause error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap exposes both the sentinel and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// New formats the sentence.
func New(kind, cause error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Cause: cause}
}
