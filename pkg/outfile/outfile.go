// Package outfile writes the files winnet produces on the user's machine (bundles, captures)
// all or nothing: through a temporary file in the destination's folder, moved into place only
// once complete, so an interrupted run never leaves a half-written file under the real name.
package outfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is returned when the destination exists and overwriting was not asked for.
var ErrExists = errors.New("the file already exists")

// Check says early (before any work) whether Write can create dest: its folder exists, it is
// not a folder, and it does not exist unless force. flag names the option that gave dest.
func Check(flag, dest string, force bool) error {
	dir := filepath.Dir(dest)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s %s: the folder %s cannot be used (%w); create it or choose another path", flag, dest, dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s %s: %s is not a folder; choose another path", flag, dest, dir)
	}
	if fi, err := os.Stat(dest); err == nil {
		if fi.IsDir() {
			return fmt.Errorf("%s %s is a folder; give a file name in it", flag, dest)
		}
		if !force {
			return fmt.Errorf("%s %s: %w; choose another name or pass --force to replace it", flag, dest, ErrExists)
		}
	}
	return nil
}

// Write writes what write produces to dest (what names it in errors: "the bundle"). track,
// when set, is told the temporary file's name until it is moved into place, so a second
// Ctrl-C can remove it. Without force an existing dest is kept and ErrExists returned, also
// when it appeared while write ran.
func Write(what, dest string, force bool, track func(tmp string) (release func()), write func(io.Writer) error) error {
	if !force {
		if _, err := os.Lstat(dest); err == nil {
			return fmt.Errorf("writing %s to %s: %w; choose another name or pass --force to replace it", what, dest, ErrExists)
		}
	}
	dir := filepath.Dir(dest)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return fmt.Errorf("creating %s in %s: %w; check that the folder exists and is writable", what, dir, err)
	}
	tmpName := tmp.Name()
	if track != nil {
		defer track(tmpName)()
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("writing %s %s: %w", what, dest, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s %s: %w", what, dest, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s %s: %w", what, dest, err)
	}
	if force {
		err = os.Rename(tmpName, dest)
	} else {
		// A hard link refuses to replace an existing file, so a file created meanwhile is not
		// clobbered; file systems without links fall back to a rename.
		if err = os.Link(tmpName, dest); err == nil {
			_ = os.Remove(tmpName)
		} else if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("writing %s to %s: %w; choose another name or pass --force to replace it", what, dest, ErrExists)
		} else {
			err = os.Rename(tmpName, dest)
		}
	}
	if err != nil {
		return fmt.Errorf("moving %s into place at %s: %w", what, dest, err)
	}
	done = true
	return nil
}
