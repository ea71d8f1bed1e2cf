package sqlite

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite appends each page to the WAL as two writes, each a pwrite
// system call: the frame's 24-byte header, then the page. walVFS is the
// platform's default VFS with one change: in WAL files, a frame header is
// held back and written together with the page that follows it, one
// system call per frame instead of two: a few percent of an invitation's
// create, whose commits write about three frames each, on a machine whose
// system calls are dear (change 23 in BENCHMARKS.md).
//
// Only a header that follows a write, at a frame's offset, is held (the
// frame size is read from the WAL header SQLite writes when the WAL
// starts; until then nothing is held). SQLite writes a new frame as
// header then page, back to back; the other 24-byte writes to a WAL (the
// headers rewritten when a transaction overwrote its own frames) each
// follow a read of their frame and are passed straight through, so no held
// write outlives the commit that made it. Any call on the file other than
// the page's own write writes a held header first, so what SQLite reads,
// syncs, truncates or closes is what it wrote.
const (
	walVFSName         = "roster-wal"
	walHeaderSize      = 32
	walFrameHeaderSize = 24
)

// walFile is the state walVFS keeps for an open WAL, in the bytes it asks
// SQLite to allocate after the default VFS's own file structure.
type walFile struct {
	inner      uintptr // the default VFS's methods for this file
	lastWrote  bool    // the previous call on this file was a write
	heldLen    int32   // 0, or walFrameHeaderSize while a header is held
	heldAt     int64
	frameSize  int64 // page size plus frame header, from the WAL header; 0 until seen
	held       [walFrameHeaderSize]byte
	scratch    uintptr // header and page joined, from sqlite3_malloc64
	scratchCap int32
}

var (
	walVFSOnce sync.Once
	walVFSErr  error
	walVFS     sqlite3.Tsqlite3_vfs
	walMethods sqlite3.Tsqlite3_io_methods
	innerOpen  uintptr
	walOffset  uintptr // where a walFile starts within SQLite's file allocation

	// What the WAL files were asked to write and what reached the default
	// VFS, counted for the tests.
	walWritesAsked  atomic.Int64
	walWritesIssued atomic.Int64
)

// registerWALVFS registers walVFS once per process.
func registerWALVFS() error {
	walVFSOnce.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		dflt := sqlite3.Xsqlite3_vfs_find(tls, 0)
		if dflt == 0 {
			walVFSErr = fmt.Errorf("sqlite: no default VFS")
			return
		}
		name, err := libc.CString(walVFSName) // kept for the life of the process
		if err != nil {
			walVFSErr = err
			return
		}
		walVFS = *(*sqlite3.Tsqlite3_vfs)(cPointer(dflt))
		walOffset = (uintptr(walVFS.FszOsFile) + 7) &^ 7
		walVFS.FszOsFile = int32(walOffset + unsafe.Sizeof(walFile{}))
		walVFS.FzName = name
		walVFS.FpNext = 0
		innerOpen = walVFS.FxOpen
		*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&walVFS.FxOpen)) = walOpen

		walMethods.FiVersion = 1 // a WAL file is never memory-mapped and has no shared memory
		*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&walMethods.FxClose)) = walClose
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&walMethods.FxRead)) = walRead
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&walMethods.FxWrite)) = walWrite
		*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&walMethods.FxTruncate)) = walTruncate
		*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&walMethods.FxSync)) = walSync
		*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&walMethods.FxFileSize)) = walFileSize
		*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&walMethods.FxLock)) = walLock
		*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&walMethods.FxUnlock)) = walUnlock
		*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&walMethods.FxCheckReservedLock)) = walCheckReservedLock
		*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&walMethods.FxFileControl)) = walFileControl
		*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&walMethods.FxSectorSize)) = walSectorSize
		*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&walMethods.FxDeviceCharacteristics)) = walDeviceCharacteristics

		if rc := sqlite3.Xsqlite3_vfs_register(tls, uintptr(unsafe.Pointer(&walVFS)), 0); rc != sqlite3.SQLITE_OK {
			walVFSErr = fmt.Errorf("sqlite: register the %s VFS: code %d", walVFSName, rc)
		}
	})
	return walVFSErr
}

// cPointer turns an address SQLite gave (memory outside Go's heap) into a
// pointer.
func cPointer(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

func cBytes(p uintptr, n int32) []byte { return unsafe.Slice((*byte)(cPointer(p)), n) }

// fn turns a function pointer of SQLite's into a Go function of type F.
func fn[F any](p uintptr) F { return *(*F)(unsafe.Pointer(&p)) }

func walFileOf(file uintptr) *walFile { return (*walFile)(cPointer(file + walOffset)) }

func (w *walFile) methods() *sqlite3.Tsqlite3_io_methods {
	return (*sqlite3.Tsqlite3_io_methods)(cPointer(w.inner))
}

func walOpen(tls *libc.TLS, vfs, name, file uintptr, flags int32, outFlags uintptr) int32 {
	rc := fn[func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32](innerOpen)(tls, vfs, name, file, flags, outFlags)
	if rc != sqlite3.SQLITE_OK || flags&sqlite3.SQLITE_OPEN_WAL == 0 {
		return rc
	}
	f := (*sqlite3.Tsqlite3_file)(cPointer(file))
	if f.FpMethods == 0 {
		return rc
	}
	*walFileOf(file) = walFile{inner: f.FpMethods}
	f.FpMethods = uintptr(unsafe.Pointer(&walMethods))
	return rc
}

func (w *walFile) write(tls *libc.TLS, file, buf uintptr, n int32, at int64) int32 {
	walWritesIssued.Add(1)
	return fn[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](w.methods().FxWrite)(tls, file, buf, n, at)
}

// flush writes a held header, and notes that the next call does not
// follow a write.
func (w *walFile) flush(tls *libc.TLS, file uintptr) int32 {
	w.lastWrote = false
	if w.heldLen == 0 {
		return sqlite3.SQLITE_OK
	}
	n := w.heldLen
	w.heldLen = 0
	return w.write(tls, file, uintptr(unsafe.Pointer(&w.held[0])), n, w.heldAt)
}

func walWrite(tls *libc.TLS, file, buf uintptr, n int32, at int64) int32 {
	walWritesAsked.Add(1)
	w := walFileOf(file)
	if w.heldLen > 0 && at == w.heldAt+int64(w.heldLen) {
		return w.writeJoined(tls, file, buf, n)
	}
	lastWrote := w.lastWrote
	if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if at == 0 && n >= walHeaderSize {
		w.frameSize = int64(binary.BigEndian.Uint32(cBytes(buf, n)[8:12])) + walFrameHeaderSize
	}
	if n == walFrameHeaderSize && lastWrote && w.frameSize > walFrameHeaderSize && (at-walHeaderSize)%w.frameSize == 0 {
		w.held = *(*[walFrameHeaderSize]byte)(cPointer(buf))
		w.heldLen, w.heldAt = n, at
		w.lastWrote = true
		return sqlite3.SQLITE_OK
	}
	w.lastWrote = true
	return w.write(tls, file, buf, n, at)
}

// writeJoined writes the held header and the page after it at once.
func (w *walFile) writeJoined(tls *libc.TLS, file, buf uintptr, n int32) int32 {
	total := w.heldLen + n
	if w.scratchCap < total {
		scratch := sqlite3.Xsqlite3_malloc64(tls, uint64(total))
		if scratch == 0 { // no memory to join them: write them apart
			at := w.heldAt + int64(w.heldLen)
			if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
				return rc
			}
			w.lastWrote = true
			return w.write(tls, file, buf, n, at)
		}
		sqlite3.Xsqlite3_free(tls, w.scratch)
		w.scratch, w.scratchCap = scratch, total
	}
	joined := cBytes(w.scratch, total)
	copy(joined, w.held[:w.heldLen])
	copy(joined[w.heldLen:], cBytes(buf, n))
	at := w.heldAt
	w.heldLen = 0
	w.lastWrote = true
	return w.write(tls, file, w.scratch, total, at)
}

func walClose(tls *libc.TLS, file uintptr) int32 {
	w := walFileOf(file)
	rc := w.flush(tls, file)
	sqlite3.Xsqlite3_free(tls, w.scratch)
	w.scratch, w.scratchCap = 0, 0
	closeRC := fn[func(*libc.TLS, uintptr) int32](w.methods().FxClose)(tls, file)
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	return closeRC
}

func walRead(tls *libc.TLS, file, buf uintptr, n int32, at int64) int32 {
	w := walFileOf(file)
	if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](w.methods().FxRead)(tls, file, buf, n, at)
}

func walTruncate(tls *libc.TLS, file uintptr, size int64) int32 {
	w := walFileOf(file)
	if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, int64) int32](w.methods().FxTruncate)(tls, file, size)
}

func walSync(tls *libc.TLS, file uintptr, flags int32) int32 {
	w := walFileOf(file)
	if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, int32) int32](w.methods().FxSync)(tls, file, flags)
}

func walFileSize(tls *libc.TLS, file, size uintptr) int32 {
	w := walFileOf(file)
	if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, uintptr) int32](w.methods().FxFileSize)(tls, file, size)
}

func walLock(tls *libc.TLS, file uintptr, level int32) int32 {
	w := walFileOf(file)
	if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, int32) int32](w.methods().FxLock)(tls, file, level)
}

func walUnlock(tls *libc.TLS, file uintptr, level int32) int32 {
	w := walFileOf(file)
	if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, int32) int32](w.methods().FxUnlock)(tls, file, level)
}

func walCheckReservedLock(tls *libc.TLS, file, out uintptr) int32 {
	w := walFileOf(file)
	if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, uintptr) int32](w.methods().FxCheckReservedLock)(tls, file, out)
}

func walFileControl(tls *libc.TLS, file uintptr, op int32, arg uintptr) int32 {
	w := walFileOf(file)
	if rc := w.flush(tls, file); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, int32, uintptr) int32](w.methods().FxFileControl)(tls, file, op, arg)
}

func walSectorSize(tls *libc.TLS, file uintptr) int32 {
	return fn[func(*libc.TLS, uintptr) int32](walFileOf(file).methods().FxSectorSize)(tls, file)
}

func walDeviceCharacteristics(tls *libc.TLS, file uintptr) int32 {
	return fn[func(*libc.TLS, uintptr) int32](walFileOf(file).methods().FxDeviceCharacteristics)(tls, file)
}
