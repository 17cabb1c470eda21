package wire

import (
	"encoding/binary"
	"testing"
)

// clientHello builds a minimal epoch-0 ClientHello record.
func clientHello(random byte, cookie []byte) []byte {
	hello := []byte{0xfe, 0xfd}
	for i := 0; i < RandomLen; i++ {
		hello = append(hello, random)
	}
	hello = append(hello, 0) // session id
	hello = append(hello, byte(len(cookie)))
	hello = append(hello, cookie...)
	hello = append(hello, 0, 2, 0xcc, 0xa9, 1, 0) // suites, compression
	hs := make([]byte, HandshakeHeaderLen)
	hs[0] = HandshakeClientHello
	hs[3] = byte(len(hello))
	hs[11] = byte(len(hello))
	hs = append(hs, hello...)
	rec := []byte{ContentHandshake, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(rec[11:], uint16(len(hs)))
	return append(rec, hs...)
}

func TestClassify(t *testing.T) {
	ch := clientHello(7, nil)
	info := Classify(ch)
	if info.Kind != ClientHello || info.Random[0] != 7 || info.HasCookie {
		t.Fatalf("ClientHello without cookie: got %+v", info)
	}
	info = Classify(clientHello(9, []byte{1, 2, 3}))
	if info.Kind != ClientHello || !info.HasCookie || info.Random[31] != 9 {
		t.Fatalf("ClientHello with cookie: got %+v", info)
	}
	epoch1 := append([]byte(nil), ch...)
	epoch1[4] = 1
	if k := Classify(epoch1).Kind; k != Record {
		t.Fatalf("epoch-1 handshake must be a plain record, got %v", k)
	}
	app := []byte{ContentApplicationData, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5, 0, 3, 1, 2, 3}
	if k := Classify(app).Kind; k != Record {
		t.Fatalf("application data: got %v", k)
	}
	for name, b := range map[string][]byte{
		"empty":        nil,
		"short":        {22, 0xfe},
		"bad type":     append([]byte{99}, ch[1:]...),
		"bad version":  append([]byte{22, 3, 3}, ch[3:]...),
		"length lies":  append(append([]byte(nil), ch[:11]...), 0xff, 0xff),
		"tls not dtls": {22, 3, 1, 0, 5, 1, 0, 0, 1, 0},
	} {
		if k := Classify(b).Kind; k != Garbage {
			t.Errorf("%s: want Garbage, got %v", name, k)
		}
	}
	truncated := append([]byte(nil), ch[:RecordHeaderLen+HandshakeHeaderLen+10]...)
	binary.BigEndian.PutUint16(truncated[11:], uint16(len(truncated)-RecordHeaderLen))
	if k := Classify(truncated).Kind; k == ClientHello {
		t.Fatalf("a truncated ClientHello must not be accepted as one")
	}
}

// FuzzClassify: no input may panic, and a ClientHello verdict implies the
// datagram really is long enough to hold the random it reported.
func FuzzClassify(f *testing.F) {
	f.Add(clientHello(1, nil))
	f.Add(clientHello(2, []byte{9, 9}))
	f.Add([]byte{ContentApplicationData, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		info := Classify(b)
		if info.Kind == ClientHello && len(b) < RecordHeaderLen+HandshakeHeaderLen+2+RandomLen+1 {
			t.Fatalf("ClientHello verdict on %d bytes", len(b))
		}
	})
}
