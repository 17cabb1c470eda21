package main

/*
#include "gdx.h"
*/
import "C"

// Godot constants the bridge speaks in: the Error codes GDScript receives,
// Variant type tags, and the ABI's call-error, flag and usage values (named
// once in gdx.h).

// gdError is a Godot Error code as returned to GDScript.
type gdError int64

// The Error codes this addon returns (core/error/error_list.h).
const (
	errOK               gdError = 0
	errUnavailable      gdError = 2
	errUnconfigured     gdError = 3
	errOutOfMemory      gdError = 6
	errCantCreate       gdError = 20
	errAlreadyInUse     gdError = 22
	errConnectionError  gdError = 27
	errInvalidData      gdError = 30
	errInvalidParameter gdError = 31
	errBusy             gdError = 44
)

// vtype is a Variant type tag.
type vtype uint32

// Variant types used here.
const (
	tNil        vtype = C.GDX_NIL
	tBool       vtype = C.GDX_BOOL
	tInt        vtype = C.GDX_INT
	tFloat      vtype = C.GDX_FLOAT
	tString     vtype = C.GDX_STRING
	tStringName vtype = C.GDX_STRING_NAME
	tObject     vtype = C.GDX_OBJECT
	tCallable   vtype = C.GDX_CALLABLE
	tDictionary vtype = C.GDX_DICTIONARY
	tArray      vtype = C.GDX_ARRAY
	tBytes      vtype = C.GDX_PACKED_BYTE_ARRAY
)

// Call errors, method flags, argument metadata and property usage.
const (
	callOK               = C.GDX_CALL_OK
	callInvalidArgument  = C.GDX_CALL_ERROR_INVALID_ARGUMENT
	callTooManyArguments = C.GDX_CALL_ERROR_TOO_MANY_ARGUMENTS
	callTooFewArguments  = C.GDX_CALL_ERROR_TOO_FEW_ARGUMENTS
	callInstanceIsNull   = C.GDX_CALL_ERROR_INSTANCE_IS_NULL

	methodFlagNormal = C.GDX_METHOD_FLAG_NORMAL
	methodFlagConst  = C.GDX_METHOD_FLAG_CONST

	metadataNone         = C.GDX_METADATA_NONE
	metadataIntIsInt64   = C.GDX_METADATA_INT_IS_INT64
	metadataRealIsDouble = C.GDX_METADATA_REAL_IS_DOUBLE

	usageDefault     = C.GDX_USAGE_DEFAULT
	usageClassIsEnum = C.GDX_USAGE_CLASS_IS_ENUM

	levelScene  = C.GDX_INIT_SCENE
	levelEditor = C.GDX_INIT_EDITOR

	// maxArgs is the most arguments a method, signal or engine call may have
	// (the C wrappers' pointer arrays).
	maxArgs = C.GDX_MAX_ARGS
)

func (t vtype) String() string {
	switch t {
	case tNil:
		return "void"
	case tBool:
		return "bool"
	case tInt:
		return "int"
	case tFloat:
		return "float"
	case tString:
		return "String"
	case tStringName:
		return "StringName"
	case tObject:
		return "Object"
	case tDictionary:
		return "Dictionary"
	case tArray:
		return "Array"
	case tBytes:
		return "PackedByteArray"
	}
	return "Variant"
}
