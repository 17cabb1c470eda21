package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"godtls/extension/client"
	"godtls/extension/credentials"
)

// TLSOptions → credentials, for every class: a server TLSOptions gives a
// certificate (GoDTLSServer.setup, create_server), a client one the
// verification a connection asks for (connect_to_host, create_client).

// serverCertificate reads a server TLSOptions; m names the caller's method.
func serverCertificate(m string, opts object) (*credentials.Certificate, gdError) {
	if opts.isNull() {
		pushError(m, "server_options is null; pass TLSOptions.server(key, certificate)")
		return nil, errInvalidParameter
	}
	if !opts.is("TLSOptions") {
		pushError(m, "server_options is not a TLSOptions")
		return nil, errInvalidParameter
	}
	key, cert, isServer := tlsOptionsPEM(opts)
	if !isServer {
		pushError(m, "server_options is a client TLSOptions; use TLSOptions.server(key, certificate)")
		return nil, errInvalidParameter
	}
	return certificateFromPEM(m, key, cert)
}

// certificateFromPEM parses a key and chain, reporting the credentials'
// warnings (an expired certificate, say) without refusing them.
func certificateFromPEM(m, key, chain string) (*credentials.Certificate, gdError) {
	c, err := credentials.FromPEM([]byte(key), []byte(chain), time.Now())
	if err != nil {
		return nil, fail(m, err, errInvalidData)
	}
	for _, w := range c.Warnings {
		pushWarning(m, w)
	}
	return c, errOK
}

// clientConfig reads what a connection's hostname and client_options (a
// client TLSOptions, or null: the system's roots) ask for.
func clientConfig(m, hostname string, opts object) (client.Config, gdError) {
	cfg := client.Config{ServerName: hostname}
	if opts.isNull() {
		return cfg, errOK
	}
	if !opts.is("TLSOptions") {
		pushError(m, "client_options is not a TLSOptions")
		return cfg, errInvalidParameter
	}
	o := readClientOptions(opts)
	if o.isServer {
		pushError(m, "client_options is a server TLSOptions; use TLSOptions.client() or TLSOptions.client_unsafe()")
		return cfg, errInvalidParameter
	}
	if o.hasChain {
		// A chain that holds no certificate (an X509Certificate whose load
		// failed) is refused: taken as no chain, it would trust the system's
		// roots, or with client_unsafe() nothing at all, where the game
		// meant its own; Godot's own client trusts nothing with it.
		roots, err := certPool(o.chainPEM)
		if err != nil {
			pushError(m, "the trusted chain of client_options: "+err.Error())
			return cfg, errInvalidParameter
		}
		cfg.RootCAs = roots
	}
	if o.nameOverride != "" {
		cfg.ServerName = o.nameOverride
	}
	if o.unsafe {
		// client_unsafe(): no verification, or with a chain the chain
		// only (Godot never checks the name in unsafe mode).
		cfg.Insecure = !o.hasChain
		cfg.AnyName = o.hasChain
	}
	return cfg, errOK
}

// certPool reads PEM certificates (a TLSOptions' trusted chain). A
// certificate Go's parser refuses is named with the parser's reason: one
// Godot made can have a serial number Go refuses (README, Troubleshooting).
func certPool(chainPEM string) (*x509.CertPool, error) {
	chain := credentials.CertificateBlocks([]byte(chainPEM))
	if len(chain) == 0 {
		return nil, errors.New("it holds no certificate (an X509Certificate that did not load?)")
	}
	pool := x509.NewCertPool()
	for i, der := range chain {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certificate %d cannot be read: %v", i+1, err)
		}
		pool.AddCert(cert)
	}
	return pool, nil
}
