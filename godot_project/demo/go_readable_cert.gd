# A self-signed certificate from Godot's Crypto that every GoDTLS peer
# reads. generate_self_signed_certificate writes a random serial number,
# about one time in 512 with a leading zero byte that DER does not allow.
# GoDTLSServer and GoDTLSMultiplayerPeer take such a certificate, but a
# GoDTLSClient (and a GoDTLSMultiplayerPeer client) shown it cannot read it
# (README, Troubleshooting), so a game that makes its server's certificate
# at start makes another in that case, as the demos, the tests and the
# benchmarks do. Copy it into your game if you make certificates this way.
extends RefCounted


static func make(crypto: Crypto, key: CryptoKey, subject: String, not_before := "20140101000000",
		not_after := "20340101000000") -> X509Certificate:
	var cert: X509Certificate
	for attempt in 16:
		cert = crypto.generate_self_signed_certificate(key, subject, not_before, not_after)
		if serial_is_shortest(cert):
			break
	return cert


# Whether the certificate's serial number is in its shortest DER form.
static func serial_is_shortest(cert: X509Certificate) -> bool:
	# Only the lines between the markers: Godot 4.6 ends the PEM with a
	# stray character (its NUL terminator, read as U+FFFD), which base64
	# decoding would report.
	var b64 := ""
	var inside := false
	for line in cert.save_to_string().split("\n"):
		if line.begins_with("-----BEGIN"):
			inside = true
		elif line.begins_with("-----END"):
			break
		elif inside:
			b64 += line.strip_edges()
	var der := Marshalls.base64_to_raw(b64)
	# Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version, serial INTEGER, ...
	var tbs: Array = _content(der, _content(der, 0)[0])
	var at: int = tbs[0]
	if der[at] == 0xA0:
		var version: Array = _content(der, at)
		at = version[0] + version[1]
	var serial: Array = _content(der, at)
	var first: int = serial[0]
	return not (serial[1] > 1 and der[first] == 0 and der[first + 1] < 0x80)


# The [start, length] of the content of the DER element whose tag is at i.
static func _content(der: PackedByteArray, i: int) -> Array:
	var n: int = der[i + 1]
	if n < 0x80:
		return [i + 2, n]
	var length := 0
	for k in n & 0x7f:
		length = length * 256 + der[i + 2 + k]
	return [i + 2 + (n & 0x7f), length]
