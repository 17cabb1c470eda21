package link

import (
	"io"
	"reflect"
	"unsafe"

	"github.com/pion/dtls/v2"
)

// records returns the channel on which pion's Conn hands over the
// application data it decrypted (the unexported Conn.decrypted of pion/dtls
// v2), or nil where this pion has no such field.
//
// Why reach into pion: Conn.Read only copies a value from that channel into
// the caller's buffer, and the buffer must hold the largest record
// (a shorter one loses the record: errBufferTooSmall). A read loop blocked
// in Read therefore holds MaxRecord bytes for as long as its peer is idle:
// 8 KiB of every idle peer's memory, the one buffer of the two per peer
// that was ours (the other is pion's read buffer). The values are pion's
// own copies (protocol.ApplicationData.Unmarshal allocates them), so the
// loop takes them as they are: no buffer while waiting, no copy after.
// Conn.Read's only other work is its read deadline, which nothing sets on
// an established association here. TestRecordsFound fails the build's
// tests if a pion upgrade removes or retypes the field; ReadLoop then
// falls back to Read.
func records(conn *dtls.Conn) <-chan interface{} {
	if decryptedOffset < 0 {
		return nil
	}
	return *(*chan interface{})(unsafe.Add(unsafe.Pointer(conn), decryptedOffset))
}

// decryptedOffset is where Conn.decrypted lies in a Conn, or -1. Found once:
// reflect's field lookup runs deep enough to grow a read loop's goroutine
// stack to 4 KiB, which an idle peer would then keep (measured: 2 KiB per
// peer more when records looked the field up itself).
var decryptedOffset = func() int {
	f, ok := reflect.TypeFor[dtls.Conn]().FieldByName("decrypted")
	if !ok || f.Type != reflect.TypeFor[chan interface{}]() {
		return -1
	}
	return int(f.Offset)
}()

// nextRecord is Conn.Read without the buffer: the next decrypted record,
// or the error Read would have returned (io.EOF once pion closed the
// association).
func nextRecord(ch <-chan interface{}) ([]byte, error) {
	for {
		out, ok := <-ch
		if !ok {
			return nil, io.EOF
		}
		switch v := out.(type) {
		case []byte:
			return v, nil
		case error:
			return nil, v
		}
	}
}
