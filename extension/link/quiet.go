package link

import "github.com/pion/logging"

// Quiet is the LoggerFactory every pion Conn of ours gets: pion asks for a
// logger per Conn and scope, and its default factory builds a log.Logger
// for each even when logging is disabled (about 0.7 KiB per connection,
// measured with 1,000 idle peers). One silent logger serves them all.
var Quiet logging.LoggerFactory = quiet{}

type quiet struct{}

func (quiet) NewLogger(string) logging.LeveledLogger { return silent{} }

type silent struct{}

func (silent) Trace(string)                  {}
func (silent) Tracef(string, ...interface{}) {}
func (silent) Debug(string)                  {}
func (silent) Debugf(string, ...interface{}) {}
func (silent) Info(string)                   {}
func (silent) Infof(string, ...interface{})  {}
func (silent) Warn(string)                   {}
func (silent) Warnf(string, ...interface{})  {}
func (silent) Error(string)                  {}
func (silent) Errorf(string, ...interface{}) {}
