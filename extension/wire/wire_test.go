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

// helloVerify builds a HelloVerifyRequest record as pion sends it.
func helloVerify(cookie []byte) []byte {
	body := append([]byte{0xfe, 0xff, byte(len(cookie))}, cookie...)
	hs := make([]byte, HandshakeHeaderLen)
	hs[0] = HandshakeHelloVerifyRequest
	hs[3] = byte(len(body))
	hs[11] = byte(len(body))
	hs = append(hs, body...)
	rec := []byte{ContentHandshake, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(rec[11:], uint16(len(hs)))
	return append(rec, hs...)
}

func record(ct byte, epoch uint16, body ...byte) []byte {
	rec := []byte{ct, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(rec[3:], epoch)
	binary.BigEndian.PutUint16(rec[11:], uint16(len(body)))
	return append(rec, body...)
}

func TestCookies(t *testing.T) {
	cookie := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	got, ok := HelloVerifyCookie(helloVerify(cookie))
	if !ok || !CookieEqual(got, cookie) {
		t.Fatalf("HelloVerifyRequest cookie: %v %v", got, ok)
	}
	if _, ok := HelloVerifyCookie(clientHello(1, cookie)); ok {
		t.Fatal("a ClientHello is not a HelloVerifyRequest")
	}
	if _, ok := HelloVerifyCookie(helloVerify(nil)); ok {
		t.Fatal("an empty cookie is not a cookie")
	}
	info := Classify(clientHello(3, cookie))
	if !CookieEqual(info.Cookie, cookie) {
		t.Fatalf("ClientHello cookie %v", info.Cookie)
	}
	other := append([]byte(nil), cookie...)
	other[19] ^= 1
	if CookieEqual(other, cookie) || CookieEqual(cookie[:19], cookie) || CookieEqual(nil, nil) {
		t.Fatal("CookieEqual accepted a different cookie")
	}
	lying := clientHello(3, cookie)
	lying[RecordHeaderLen+HandshakeHeaderLen+2+RandomLen+1] = 200 // cookie length beyond the message
	if info := Classify(lying); info.HasCookie || len(info.Cookie) != 0 {
		t.Fatalf("a cookie length past the end must not yield a cookie: %+v", info)
	}
}

func TestKeepEstablished(t *testing.T) {
	cke := record(ContentHandshake, 0, 16, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 7)
	ccs := record(ContentChangeCipherSpec, 0, 1)
	fin := record(ContentHandshake, 1, 9, 9, 9)
	app := record(ContentApplicationData, 1, 5, 5)
	flight := append(append(append([]byte(nil), cke...), ccs...), fin...)
	out, dropped, ok := KeepEstablished(flight)
	if !ok || dropped != 2 || string(out) != string(fin) {
		t.Fatalf("retransmitted flight: out %v dropped %d ok %v", out, dropped, ok)
	}
	out, dropped, ok = KeepEstablished(append([]byte(nil), app...))
	if !ok || dropped != 0 || string(out) != string(app) {
		t.Fatal("epoch-1 data must pass untouched")
	}
	for name, rec := range map[string][]byte{
		"an epoch-0 alert":          record(ContentAlert, 0, 2, 40),
		"an epoch-1 CCS":            record(ContentChangeCipherSpec, 1, 1),
		"an empty epoch-1 CCS":      record(ContentChangeCipherSpec, 1),
		"epoch-2 application data":  record(ContentApplicationData, 2, 1, 2),
		"an epoch-0xffff handshake": record(ContentHandshake, 0xffff, 1, 2),
	} {
		if out, n, ok := KeepEstablished(rec); !ok || len(out) != 0 || n != 1 {
			t.Errorf("%s must be dropped: out %v dropped %d ok %v", name, out, n, ok)
		}
	}
	mixed := append(append(append([]byte(nil), app...), record(ContentChangeCipherSpec, 1, 1)...), app...)
	if out, n, ok := KeepEstablished(mixed); !ok || n != 1 || string(out) != string(app)+string(app) {
		t.Fatalf("a CCS between two records: out %v dropped %d", out, n)
	}
	if _, _, ok := KeepEstablished(append(append([]byte(nil), app...), 0xfe)); ok {
		t.Fatal("trailing garbage must fail")
	}
}

// FuzzStrip: no input may panic, and the output is never longer than the input.
func FuzzStrip(f *testing.F) {
	f.Add(clientHello(1, nil))
	f.Add(append(record(ContentHandshake, 0, 1, 2), record(ContentApplicationData, 1, 3)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		in := len(b)
		out, _, ok := KeepEstablished(b)
		if len(out) > in {
			t.Fatalf("grew from %d to %d", in, len(out))
		}
		// Whatever is kept is a run of epoch-1 records, none of them a CCS.
		for rest := out; ok && len(rest) > 0; {
			ct, epoch, body, valid := header(rest)
			if !valid || epoch != EstablishedEpoch || ct == ContentChangeCipherSpec {
				t.Fatalf("kept a record it must drop: %x", rest)
			}
			rest = rest[RecordHeaderLen+len(body):]
		}
		_, _ = HelloVerifyCookie(b)
	})
}
