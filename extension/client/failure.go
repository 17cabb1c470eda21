package client

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"

	"github.com/pion/dtls/v2/pkg/protocol/alert"

	"godtls/extension/link"
	"godtls/extension/udpsock"
)

// FailureKind says why a connection attempt failed or a connection ended.
type FailureKind int

// Failure kinds. Each has its own words in Failure.Error.
const (
	FailTimeout FailureKind = iota + 1
	FailDNS
	FailUnreachable
	FailUnknownCA
	FailHostname
	FailExpired
	FailBadCertificate
	FailPSKIdentity
	FailPSKKey
	FailAlert
	FailNetwork
	FailClosedByServer
	FailClosedByCaller
	FailInternal
	// FailNotAccepting: the server refuses new connections (it is draining;
	// it answered access_denied).
	FailNotAccepting
)

// Failure is a reason in words a player-facing log can show, with the
// detail underneath.
type Failure struct {
	Kind   FailureKind
	Detail string
}

func (f *Failure) Error() string {
	var what string
	switch f.Kind {
	case FailTimeout:
		what = "the server did not answer in time"
	case FailDNS:
		what = "the server's name could not be resolved"
	case FailUnreachable:
		what = "the server is unreachable (nothing listens on that port)"
	case FailUnknownCA:
		what = "the server's certificate is not signed by a trusted authority"
	case FailHostname:
		what = "the server's certificate is for another host name"
	case FailExpired:
		what = "the server's certificate has expired or is not valid yet"
	case FailBadCertificate:
		what = "the server's certificate is invalid"
	case FailPSKIdentity:
		what = "the server does not know this PSK identity"
	case FailPSKKey:
		what = "the server did not accept the pre-shared key (wrong key, or an identity it will not name)"
	case FailNotAccepting:
		what = "the server is not accepting new connections"
	case FailAlert:
		what = "the server refused the connection"
	case FailNetwork:
		what = "the connection broke"
	case FailClosedByServer:
		return "the server closed the connection"
	case FailClosedByCaller:
		return "disconnected"
	default:
		what = "internal error"
	}
	if f.Detail == "" {
		return what
	}
	return what + ": " + f.Detail
}

// classify turns what ended a connection attempt into a Failure.
func classify(ctx context.Context, err error, cfg Config) *Failure {
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &dnsErr):
		return &Failure{Kind: FailDNS, Detail: dnsErr.Error()}
	case udpsock.Unreachable(err):
		return &Failure{Kind: FailUnreachable, Detail: "ICMP port unreachable"}
	case errors.As(err, &hostErr):
		return &Failure{Kind: FailHostname, Detail: fmt.Sprintf("expected %q", cfg.ServerName)}
	case errors.As(err, &unknownCA):
		return &Failure{Kind: FailUnknownCA, Detail: unknownCA.Error()}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &Failure{Kind: FailExpired, Detail: invalid.Error()}
	case errors.As(err, &invalid):
		return &Failure{Kind: FailBadCertificate, Detail: invalid.Error()}
	}
	if a := link.AlertOf(err); a != nil && a.Level == alert.Fatal {
		return alertFailure(a, cfg)
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded {
		return &Failure{Kind: FailTimeout, Detail: fmt.Sprintf("no handshake within %v", cfg.HandshakeTimeout)}
	}
	if errors.Is(err, context.Canceled) {
		return &Failure{Kind: FailClosedByCaller, Detail: "disconnected"}
	}
	return &Failure{Kind: FailNetwork, Detail: err.Error()}
}

// unknownPSKIdentity is RFC 4279's alert 115, which pion v2 does not name.
const unknownPSKIdentity alert.Description = 115

func alertFailure(a *alert.Alert, cfg Config) *Failure {
	d := a.Description.String()
	switch a.Description {
	case unknownPSKIdentity:
		return &Failure{Kind: FailPSKIdentity, Detail: cfg.PSKIdentity}
	case alert.InternalError:
		if cfg.PSKIdentity != "" {
			// pion servers answer an identity their lookup refuses so.
			return &Failure{Kind: FailPSKIdentity, Detail: fmt.Sprintf("%q (the server answered %s)", cfg.PSKIdentity, d)}
		}
	case alert.DecryptError, alert.BadRecordMac:
		if cfg.PSKIdentity != "" {
			return &Failure{Kind: FailPSKKey, Detail: "the server answered " + d}
		}
	case alert.CertificateExpired:
		return &Failure{Kind: FailExpired, Detail: "the server answered " + d}
	case alert.AccessDenied:
		return &Failure{Kind: FailNotAccepting, Detail: "the server answered " + d}
	}
	return &Failure{Kind: FailAlert, Detail: "alert " + d}
}
