// gdx.c: the entry symbol, the loaded interface, the callbacks Godot calls
// (each forwards to an exported Go function with integer handles), and thin
// wrappers so Go never calls a C function pointer itself.
#include <string.h>
#include "gdx.h"
#include "_cgo_export.h"

#ifdef _WIN32
#include <windows.h>
#endif

gdx_interface gdx;

// Pinned at load time, before anything can fail (pin_self.h says why).
#include "pin_self.h"

// The main thread: Godot initializes extensions on it. Some releases of
// engine objects must happen there (bridge/mainthread.go).
#ifdef _WIN32
static DWORD main_thread;
static void mark_main_thread(void) { main_thread = GetCurrentThreadId(); }
gdx_bool gdx_on_main_thread(void) { return GetCurrentThreadId() == main_thread; }
uint64_t gdx_thread_id(void) { return (uint64_t)GetCurrentThreadId(); }
#else
#include <pthread.h>
static pthread_t main_thread;
static void mark_main_thread(void) { main_thread = pthread_self(); }
gdx_bool gdx_on_main_thread(void) { return pthread_equal(pthread_self(), main_thread) != 0; }
uint64_t gdx_thread_id(void) { return (uint64_t)(uintptr_t)pthread_self(); }
#endif

static void on_initialize(void *userdata, uint32_t level) {
	mark_main_thread();
	goInitialize(level);
}
static void on_deinitialize(void *userdata, uint32_t level) { goDeinitialize(level); }

// One interface function: its name and the field of gdx it is loaded into.
typedef struct {
	const char *name;
	void **field;
} gdx_function;

#define FN(name) { #name, (void **)&gdx.name }

// Every function the addon calls but those that come in pairs (below). A
// missing one refuses the library with one error naming it, rather than
// crashing on the first call.
static const gdx_function required[] = {
	FN(print_warning_with_message),
	FN(variant_new_copy),
	FN(variant_new_nil),
	FN(variant_destroy),
	FN(variant_get_type),
	FN(variant_call),
	FN(variant_construct),
	FN(variant_set),
	FN(variant_get),
	FN(variant_get_indexed),
	FN(get_variant_from_type_constructor),
	FN(get_variant_to_type_constructor),
	FN(variant_get_ptr_destructor),
	FN(variant_get_ptr_constructor),
	FN(variant_get_ptr_builtin_method),
	FN(variant_get_ptr_utility_function),
	FN(string_new_with_utf8_chars_and_len2),
	FN(string_to_utf8_chars),
	FN(string_name_new_with_latin1_chars),
	FN(packed_byte_array_operator_index),
	FN(packed_byte_array_operator_index_const),
	FN(object_method_bind_call),
	FN(object_method_bind_ptrcall),
	FN(object_destroy),
	FN(object_set_instance),
	FN(global_get_singleton),
	FN(ref_get_object),
	FN(ref_set_object),
	FN(classdb_get_method_bind),
	FN(classdb_register_extension_class_method),
	FN(classdb_register_extension_class_integer_constant),
	FN(classdb_register_extension_class_property),
	FN(classdb_register_extension_class_signal),
	FN(classdb_unregister_extension_class),
};

// Functions the addon uses when present: the class reference in the editor.
static const gdx_function optional[] = {
	FN(editor_help_load_xml_from_utf8_chars_and_len),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

// refuse_missing reports an interface function this engine lacks.
static void refuse_missing(const char *name) {
	gdx.print_error_with_message("GoDTLS: this Godot build lacks a GDExtension function the addon needs (an engine newer than the addon, built with deprecated=no?)",
			name, "dtls_server_library_init", __FILE__, __LINE__, 1);
}

// Asking get_proc_address for a name the engine lacks logs an error, so
// each function below is asked for only where it exists: the version
// first, then the functions of that version.

// load_version reads the engine's version: get_godot_version (every build
// but those made with deprecated=no from 4.5 on), else get_godot_version2
// (4.5+). Those builds print one "non-existent interface function" error
// for the first ask; any other order would print one on every 4.3 and 4.4.
static gdx_bool load_version(gdx_get_proc_address get_proc) {
	gdx.get_godot_version = (void *)get_proc("get_godot_version");
	if (gdx.get_godot_version != NULL) {
		gdx.get_godot_version(&gdx.version);
		return 1;
	}
	gdx.get_godot_version2 = (void *)get_proc("get_godot_version2");
	if (gdx.get_godot_version2 == NULL) {
		return 0;
	}
	gdx_version2 v;
	memset(&v, 0, sizeof(v));
	gdx.get_godot_version2(&v);
	gdx.version.major = v.major;
	gdx.version.minor = v.minor;
	gdx.version.patch = v.patch;
	gdx.version.string = v.string;
	return 1;
}

// load_classdb picks how classes are registered and objects constructed,
// by version: from 4.4 on, register_extension_class5 (4.5+) or class4
// (4.4) with construct_object2, which are what an engine built with
// deprecated=no keeps; on 4.3, class2 with construct_object. The two go
// together: class4/5's create_instance is told whether to send
// NOTIFICATION_POSTINITIALIZE, which construct_object2 leaves to its
// caller and construct_object sends itself.
static gdx_bool load_classdb(gdx_get_proc_address get_proc) {
	if (gdx.version.minor >= 4) {
		gdx.classdb_register_extension_class4 = (void *)get_proc(
				gdx.version.minor >= 5 ? "classdb_register_extension_class5" : "classdb_register_extension_class4");
		gdx.classdb_construct_object2 = (void *)get_proc("classdb_construct_object2");
		return gdx.classdb_register_extension_class4 != NULL && gdx.classdb_construct_object2 != NULL;
	}
	gdx.classdb_register_extension_class2 = (void *)get_proc("classdb_register_extension_class2");
	gdx.classdb_construct_object = (void *)get_proc("classdb_construct_object");
	return gdx.classdb_register_extension_class2 != NULL && gdx.classdb_construct_object != NULL;
}

// Entry symbol named in dtls_server.gdextension.
#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
gdx_bool dtls_server_library_init(gdx_get_proc_address get_proc, void *library, gdx_initialization *init) {
	if (get_proc == NULL || library == NULL || init == NULL) {
		return 0;
	}
	memset(&gdx, 0, sizeof(gdx));
	gdx.print_error_with_message = (void *)get_proc("print_error_with_message");
	if (gdx.print_error_with_message == NULL) {
		return 0; // nothing to say it with
	}
	if (!load_version(get_proc)) {
		refuse_missing("get_godot_version or get_godot_version2");
		return 0;
	}
	if (gdx.version.major != 4 || gdx.version.minor < 3) {
		gdx.print_error_with_message("GoDTLS needs Godot 4.3 or newer", gdx.version.string ? gdx.version.string : "",
				"dtls_server_library_init", __FILE__, __LINE__, 1);
		return 0;
	}
	for (size_t i = 0; i < COUNT(required); i++) {
		*required[i].field = (void *)get_proc(required[i].name);
		if (*required[i].field == NULL) {
			refuse_missing(required[i].name);
			return 0;
		}
	}
	if (!load_classdb(get_proc)) {
		refuse_missing(gdx.version.minor >= 4 ? "classdb_register_extension_class4/5 or classdb_construct_object2" : "classdb_register_extension_class2 or classdb_construct_object");
		return 0;
	}
	for (size_t i = 0; i < COUNT(optional); i++) {
		*optional[i].field = (void *)get_proc(optional[i].name);
	}
	gdx.library = library;
	init->minimum_initialization_level = GDX_INIT_SCENE;
	init->userdata = NULL;
	init->initialize = on_initialize;
	init->deinitialize = on_deinitialize;
	return 1;
}

// ---- callbacks Godot calls ------------------------------------------------

// create_instance2 (class4/5): the object is made with construct_object2,
// and gets NOTIFICATION_POSTINITIALIZE from us if Godot asks for it.
static gdx_ptr create_instance2(void *class_userdata, gdx_bool notify_postinitialize) {
	return (gdx_ptr)goCreateInstance((uintptr_t)class_userdata, notify_postinitialize);
}

// create_instance (class2): construct_object has sent the notification.
static gdx_ptr create_instance(void *class_userdata) {
	return (gdx_ptr)goCreateInstance((uintptr_t)class_userdata, 0);
}

static void free_instance(void *class_userdata, gdx_ptr inst) {
	goFreeInstance((uintptr_t)class_userdata, (uintptr_t)inst);
}

static void *virtual_call_data(void *class_userdata, gdx_cptr name) {
	return (void *)goVirtualData((uintptr_t)class_userdata, (void *)name);
}

// The virtuals are found by name; the hash of their signature is not
// needed (each name has one signature in every engine the addon takes).
static void *virtual_call_data2(void *class_userdata, gdx_cptr name, uint32_t hash) {
	return virtual_call_data(class_userdata, name);
}

// The calls a game makes (methods, and the virtuals of PacketPeer and
// MultiplayerPeer) are timed, the wait for a Go processor included
// (call_latency.c).
static void call_virtual(gdx_ptr inst, gdx_cptr name, void *vdata, const gdx_cptr *args, gdx_ptr r_ret) {
	uint64_t t = gdx_call_begin();
	goCallVirtual((uintptr_t)inst, (uintptr_t)vdata, (void *)args, r_ret);
	gdx_call_end(t);
}

static void method_call(void *mud, gdx_ptr inst, const gdx_cptr *args, gdx_int argc, gdx_ptr r_ret, gdx_call_error *err) {
	uint64_t t = gdx_call_begin();
	goMethodCall((uintptr_t)mud, (uintptr_t)inst, (void *)args, argc, r_ret, err);
	gdx_call_end(t);
}

static void method_ptrcall(void *mud, gdx_ptr inst, const gdx_cptr *args, gdx_ptr r_ret) {
	uint64_t t = gdx_call_begin();
	goMethodPtrcall((uintptr_t)mud, (uintptr_t)inst, (void *)args, r_ret);
	gdx_call_end(t);
}

// ---- wrappers Go calls ------------------------------------------------------

static const char *here = "GoDTLS";

void gdx_print_error(const char *desc, const char *msg, const char *func) {
	gdx.print_error_with_message(desc, msg, func, here, 0, 1);
}

void gdx_print_warning(const char *desc, const char *msg, const char *func) {
	gdx.print_warning_with_message(desc, msg, func, here, 0, 1);
}

void gdx_variant_from(uint32_t type, gdx_ptr r_variant, gdx_ptr src) {
	void (*f)(gdx_ptr, gdx_ptr) = gdx.get_variant_from_type_constructor(type);
	f(r_variant, src);
}

void gdx_variant_to(uint32_t type, gdx_ptr r_dst, gdx_ptr variant) {
	void (*f)(gdx_ptr, gdx_ptr) = gdx.get_variant_to_type_constructor(type);
	f(r_dst, variant);
}

void gdx_destroy(uint32_t type, gdx_ptr value) {
	void (*f)(gdx_ptr) = gdx.variant_get_ptr_destructor(type);
	if (f != NULL) {
		f(value);
	}
}

void gdx_variant_destroy(gdx_ptr v) { gdx.variant_destroy(v); }
void gdx_variant_new_nil(gdx_ptr v) { gdx.variant_new_nil(v); }
void gdx_variant_new_copy(gdx_ptr dst, gdx_cptr src) { gdx.variant_new_copy(dst, src); }

void gdx_variant_set_int(gdx_ptr v, int64_t n) {
	gdx.variant_destroy(v);
	gdx_variant_from(GDX_INT, v, &n);
}

void gdx_variant_set_float(gdx_ptr v, double f) {
	gdx.variant_destroy(v);
	gdx_variant_from(GDX_FLOAT, v, &f);
}

void gdx_variant_set_bool(gdx_ptr v, uint8_t b) {
	gdx.variant_destroy(v);
	gdx_variant_from(GDX_BOOL, v, &b);
}

int64_t gdx_variant_as_int(gdx_ptr v) {
	int64_t n = 0;
	gdx_variant_to(GDX_INT, &n, v);
	return n;
}

double gdx_variant_as_float(gdx_ptr v) {
	double f = 0;
	gdx_variant_to(GDX_FLOAT, &f, v);
	return f;
}

uint8_t gdx_variant_as_bool(gdx_ptr v) {
	uint8_t b = 0;
	gdx_variant_to(GDX_BOOL, &b, v);
	return b;
}

static gdx_bool object_alive(gdx_cptr v);

gdx_ptr gdx_variant_as_object(gdx_ptr v) {
	gdx_ptr obj = NULL;
	gdx_variant_to(GDX_OBJECT, &obj, v);
	if (obj != NULL && !object_alive(v)) {
		return NULL; // never a dangling pointer (gdx_variant_holds_freed_object)
	}
	return obj;
}
uint32_t gdx_variant_type(gdx_cptr v) { return gdx.variant_get_type(v); }

gdx_ptr gdx_singleton(gdx_cptr name) { return gdx.global_get_singleton(name); }

void gdx_variant_construct(uint32_t type, gdx_ptr r_variant) {
	gdx_call_error err;
	gdx.variant_construct(type, r_variant, NULL, 0, &err);
}

gdx_bool gdx_variant_set(gdx_ptr self, gdx_cptr key, gdx_cptr value) {
	gdx_bool valid = 0;
	gdx.variant_set(self, key, value, &valid);
	return valid;
}

gdx_bool gdx_variant_get(gdx_cptr self, gdx_cptr key, gdx_ptr r_ret) {
	gdx_bool valid = 0;
	gdx.variant_get(self, key, r_ret, &valid);
	return valid;
}

gdx_bool gdx_variant_get_indexed(gdx_cptr self, gdx_int i, gdx_ptr r_ret) {
	gdx_bool valid = 0, oob = 0;
	gdx.variant_get_indexed(self, i, r_ret, &valid, &oob);
	return valid && !oob;
}

// point_at fills out with pointers to argc consecutive values of size
// stride at base: the pointer arrays live here, on the C stack, because Go
// memory may not hold pointers handed to C. argc is at most GDX_MAX_ARGS.
static void point_at(gdx_cptr *out, void *base, int argc, size_t stride) {
	for (int i = 0; i < argc; i++) {
		out[i] = (char *)base + (size_t)i * stride;
	}
}

// too_many refuses a call with more arguments than the pointer arrays hold.
static int too_many(int argc, gdx_call_error *err) {
	if (argc >= 0 && argc <= GDX_MAX_ARGS) {
		return 0;
	}
	err->error = GDX_CALL_ERROR_TOO_MANY_ARGUMENTS;
	err->argument = 0;
	err->expected = GDX_MAX_ARGS;
	return 1;
}

void gdx_variant_call(gdx_ptr self, gdx_cptr method, gdx_ptr variants, int argc, gdx_ptr r_ret, gdx_call_error *err) {
	if (too_many(argc, err)) {
		return;
	}
	gdx_cptr args[GDX_MAX_ARGS];
	point_at(args, variants, argc, GDX_VARIANT_SIZE); // variants: argc consecutive Variants
	gdx.variant_call(self, method, args, argc, r_ret, err);
}

void gdx_string_new(gdx_ptr r_string, const char *utf8, gdx_int len) {
	gdx.string_new_with_utf8_chars_and_len2(r_string, utf8, len);
}

gdx_int gdx_string_to_utf8(gdx_cptr s, char *buf, gdx_int max) {
	return gdx.string_to_utf8_chars(s, buf, max);
}

void gdx_string_from_name(gdx_ptr r_string, gdx_cptr name) {
	void (*ctor)(gdx_ptr, const gdx_cptr *) = gdx.variant_get_ptr_constructor(GDX_STRING, 2);
	gdx_cptr args[1] = { name };
	ctor(r_string, args);
}

void gdx_string_name_new(gdx_ptr r_name, const char *latin1) {
	gdx.string_name_new_with_latin1_chars(r_name, latin1, 0);
}

typedef void (*builtin_method)(gdx_ptr base, const gdx_cptr *args, gdx_ptr r_ret, int argc);
static builtin_method pba_size, pba_resize, array_append;

typedef void (*utility_function)(gdx_ptr r_ret, const gdx_cptr *args, int argc);
static utility_function is_instance_valid;

// Builtin method hashes from the 4.x API (stable since 4.1).
int gdx_cache_builtins(void) {
	uint8_t sn[GDX_STRING_NAME_SIZE];
	gdx_string_name_new(sn, "size");
	pba_size = (builtin_method)gdx.variant_get_ptr_builtin_method(GDX_PACKED_BYTE_ARRAY, sn, 3173160232);
	gdx_destroy(GDX_STRING_NAME, sn);
	gdx_string_name_new(sn, "resize");
	pba_resize = (builtin_method)gdx.variant_get_ptr_builtin_method(GDX_PACKED_BYTE_ARRAY, sn, 848867239);
	gdx_destroy(GDX_STRING_NAME, sn);
	gdx_string_name_new(sn, "append");
	array_append = (builtin_method)gdx.variant_get_ptr_builtin_method(GDX_ARRAY, sn, 3316032543);
	gdx_destroy(GDX_STRING_NAME, sn);
	// @GlobalScope.is_instance_valid(Variant) -> bool: the same hash in the
	// 4.4 and 4.6 APIs, for a signature unchanged since 4.0; a missing one
	// refuses the classes (goInitialize)
	gdx_string_name_new(sn, "is_instance_valid");
	is_instance_valid = (utility_function)gdx.variant_get_ptr_utility_function(sn, 996128841);
	gdx_destroy(GDX_STRING_NAME, sn);
	return pba_size != NULL && pba_resize != NULL && array_append != NULL && is_instance_valid != NULL;
}

// An Object Variant keeps the object's pointer and its id. Freeing a
// non-RefCounted object (Node.free()) does not touch the Variants that hold
// it, and the interface's to-type conversion hands back the stale pointer.
// is_instance_valid looks the id up in Godot's ObjectDB, as the engine's own
// classes do for their Object arguments.
gdx_bool gdx_variant_holds_freed_object(gdx_cptr v) {
	if (gdx.variant_get_type(v) != GDX_OBJECT) {
		return 0;
	}
	gdx_ptr obj = NULL;
	gdx_variant_to(GDX_OBJECT, &obj, (gdx_ptr)v);
	return obj != NULL && !object_alive(v); // a null Object: nothing was freed
}

// object_alive reports whether the non-null object Variant v holds still
// exists.
static gdx_bool object_alive(gdx_cptr v) {
	uint8_t valid = 0;
	gdx_cptr args[1] = { v };
	is_instance_valid(&valid, args, 1);
	return valid != 0;
}

// gdx_engine_variant_size measures the engine's Variant: it writes the
// Variant with the largest inline payload (a Vector4: four real_t) into
// scratch memory filled with a pattern, twice with two patterns, and returns
// the end of the last byte written, rounded up to 8. 24 in single-precision
// engines, 40 in double-precision ones.
int gdx_engine_variant_size(void) {
	uint8_t scratch[128];
	double src[4] = { 1.5, -2.25, 3.125, -4.0625 };
	int last = -1;
	for (int pass = 0; pass < 2; pass++) {
		uint8_t fill = pass == 0 ? 0xAA : 0x55;
		memset(scratch, fill, sizeof(scratch));
		gdx_variant_from(GDX_VECTOR4, scratch, src);
		for (int i = (int)sizeof(scratch) - 1; i > last; i--) {
			if (scratch[i] != fill) {
				last = i;
				break;
			}
		}
		gdx.variant_destroy(scratch);
	}
	return (last + 1 + 7) / 8 * 8;
}

void gdx_pba_new(gdx_ptr r_pba, const uint8_t *data, gdx_int len) {
	void (*ctor)(gdx_ptr, const gdx_cptr *) = gdx.variant_get_ptr_constructor(GDX_PACKED_BYTE_ARRAY, 0);
	ctor(r_pba, NULL);
	if (len <= 0) {
		return;
	}
	int64_t n = len, ret = 0;
	gdx_cptr args[1] = { &n };
	pba_resize(r_pba, args, &ret, 1);
	uint8_t *dst = gdx.packed_byte_array_operator_index(r_pba, 0);
	if (dst != NULL) {
		memcpy(dst, data, (size_t)len);
	}
}

// Array values (a pointer to the shared array) for the bulk receive path.
#define GDX_ARRAY_SIZE 8

void gdx_array_ref(gdx_ptr r_array, gdx_cptr array_variant) {
	gdx_variant_to(GDX_ARRAY, r_array, (gdx_ptr)array_variant);
}

void gdx_array_unref(gdx_ptr array) {
	gdx_destroy(GDX_ARRAY, array);
}

// gdx_append_objects appends objs[0..n) (none NULL) to array (an Array
// value from gdx_array_ref) through Array.append's builtin pointer: one call
// from Go for all of them, no call by name (get_peers on a thousand peers).
void gdx_append_objects(gdx_ptr array, gdx_ptr const *objs, gdx_int n) {
	for (gdx_int i = 0; i < n; i++) {
		uint8_t v[GDX_VARIANT_SIZE];
		gdx_ptr obj = objs[i];
		gdx_variant_from(GDX_OBJECT, v, &obj);
		gdx_cptr args[1] = { v };
		array_append(array, args, NULL, 1);
		gdx.variant_destroy(v);
	}
}

// gdx_retain_each calls RefCounted.reference (the bind reference) on each of
// objs[0..n) that is not NULL, and writes into took[i] whether it took one
// (not when the count was already 0: the object is being freed).
void gdx_retain_each(gdx_ptr reference, gdx_ptr const *objs, gdx_int n, uint8_t *took) {
	for (gdx_int i = 0; i < n; i++) {
		took[i] = 0;
		if (reference != NULL && objs[i] != NULL) {
			gdx.object_method_bind_ptrcall(reference, objs[i], NULL, &took[i]);
		}
	}
}

// gdx_release_each drops a reference of ours to each of objs[0..n) that is
// not NULL through RefCounted.unreference (the bind unreference), freeing
// the objects whose last one it was.
void gdx_release_each(gdx_ptr unreference, gdx_ptr const *objs, gdx_int n) {
	for (gdx_int i = 0; i < n; i++) {
		uint8_t last = 0;
		if (unreference == NULL || objs[i] == NULL) {
			continue;
		}
		gdx.object_method_bind_ptrcall(unreference, objs[i], NULL, &last);
		if (last) {
			gdx.object_destroy(objs[i]);
		}
	}
}

// gdx_append_pair appends [value, PackedByteArray(data)] to array (an
// Array value from gdx_array_ref): one call from Go per packet, and
// Array.append through its builtin pointer rather than a call by name.
void gdx_append_pair(gdx_ptr array, gdx_cptr value, const uint8_t *data, gdx_int len) {
	uint8_t pair[GDX_ARRAY_SIZE], pba[GDX_PACKED_ARRAY_SIZE];
	uint8_t v[GDX_VARIANT_SIZE], pv[GDX_VARIANT_SIZE];
	void (*ctor)(gdx_ptr, const gdx_cptr *) = gdx.variant_get_ptr_constructor(GDX_ARRAY, 0);
	ctor(pair, NULL);
	gdx_cptr args[1] = { value };
	array_append(pair, args, NULL, 1);
	gdx_pba_new(pba, data, len);
	gdx_variant_from(GDX_PACKED_BYTE_ARRAY, v, pba);
	args[0] = v;
	array_append(pair, args, NULL, 1);
	gdx.variant_destroy(v);
	gdx_destroy(GDX_PACKED_BYTE_ARRAY, pba);
	gdx_variant_from(GDX_ARRAY, pv, pair);
	args[0] = pv;
	array_append(array, args, NULL, 1);
	gdx.variant_destroy(pv);
	gdx_destroy(GDX_ARRAY, pair);
}

const uint8_t *gdx_pba_data(gdx_cptr pba, gdx_int *r_len) {
	int64_t n = 0;
	pba_size((gdx_ptr)pba, NULL, &n, 0);
	*r_len = n;
	return n > 0 ? gdx.packed_byte_array_operator_index_const(pba, 0) : NULL;
}

void gdx_variant_construct_with(uint32_t type, gdx_ptr r_variant, gdx_ptr variants, int argc, gdx_call_error *err) {
	if (too_many(argc, err)) {
		return;
	}
	gdx_cptr args[GDX_MAX_ARGS];
	point_at(args, variants, argc, GDX_VARIANT_SIZE);
	gdx.variant_construct(type, r_variant, args, argc, err);
}

void gdx_bind_call(gdx_ptr mb, gdx_ptr obj, gdx_ptr variants, int argc, gdx_ptr r_ret, gdx_call_error *err) {
	if (too_many(argc, err)) {
		return;
	}
	if (mb == NULL || obj == NULL) {
		err->error = GDX_CALL_ERROR_INSTANCE_IS_NULL;
		return;
	}
	gdx_cptr args[GDX_MAX_ARGS];
	point_at(args, variants, argc, GDX_VARIANT_SIZE);
	gdx.object_method_bind_call(mb, obj, args, argc, r_ret, err);
}

int gdx_bind_ptrcall(gdx_ptr mb, gdx_ptr obj, gdx_ptr slots, int argc, gdx_ptr r_ret) {
	if (argc < 0 || argc > GDX_MAX_ARGS || mb == NULL || obj == NULL) {
		return 0;
	}
	gdx_cptr args[GDX_MAX_ARGS];
	point_at(args, slots, argc, GDX_SLOT_SIZE);
	gdx.object_method_bind_ptrcall(mb, obj, args, r_ret);
	return 1;
}

gdx_ptr gdx_method_bind(const char *cls, const char *method, gdx_int hash) {
	uint8_t c[GDX_STRING_NAME_SIZE], m[GDX_STRING_NAME_SIZE];
	gdx_string_name_new(c, cls);
	gdx_string_name_new(m, method);
	gdx_ptr mb = gdx.classdb_get_method_bind(c, m, hash);
	gdx_destroy(GDX_STRING_NAME, c);
	gdx_destroy(GDX_STRING_NAME, m);
	return mb;
}

void gdx_object_destroy(gdx_ptr obj) { gdx.object_destroy(obj); }
void gdx_object_set_instance(gdx_ptr obj, gdx_cptr class_name, uintptr_t handle) {
	gdx.object_set_instance(obj, class_name, (gdx_ptr)handle);
}
gdx_ptr gdx_ref_get(gdx_cptr slot) { return slot == NULL ? NULL : gdx.ref_get_object(slot); }
void gdx_ref_set(gdx_ptr slot, gdx_ptr obj) { gdx.ref_set_object(slot, obj); }
gdx_ptr gdx_construct(gdx_cptr class_name) {
	if (gdx.classdb_construct_object2 != NULL) {
		return gdx.classdb_construct_object2(class_name);
	}
	return gdx.classdb_construct_object(class_name);
}

// gdx_construct_leaves_postinitialize: objects gdx_construct makes have not
// had NOTIFICATION_POSTINITIALIZE (construct_object2); their maker sends it.
gdx_bool gdx_construct_leaves_postinitialize(void) { return gdx.classdb_construct_object2 != NULL; }

// gdx_godot_minor is the engine's minor version (4.x).
uint32_t gdx_godot_minor(void) { return gdx.version.minor; }

void gdx_register_class(gdx_cptr name, gdx_cptr parent, uintptr_t class_id, int with_virtuals) {
	if (gdx.classdb_register_extension_class4 != NULL) {
		gdx_class_info4 info;
		memset(&info, 0, sizeof(info));
		info.is_exposed = 1;
		info.create_instance_func = create_instance2;
		info.free_instance_func = free_instance;
		if (with_virtuals) {
			info.get_virtual_call_data_func = virtual_call_data2;
			info.call_virtual_with_data_func = call_virtual;
		}
		info.class_userdata = (void *)class_id;
		gdx.classdb_register_extension_class4(gdx.library, name, parent, &info);
		return;
	}
	gdx_class_info2 info;
	memset(&info, 0, sizeof(info));
	info.is_exposed = 1;
	info.create_instance_func = create_instance;
	info.free_instance_func = free_instance;
	if (with_virtuals) {
		info.get_virtual_call_data_func = virtual_call_data;
		info.call_virtual_with_data_func = call_virtual;
	}
	info.class_userdata = (void *)class_id;
	gdx.classdb_register_extension_class2(gdx.library, name, parent, &info);
}

void gdx_register_method(gdx_cptr cls, gdx_method_info *info, uintptr_t method_id) {
	info->method_userdata = (void *)method_id;
	info->call_func = method_call;
	info->ptrcall_func = method_ptrcall;
	gdx.classdb_register_extension_class_method(gdx.library, cls, info);
}

void gdx_register_constant(gdx_cptr cls, gdx_cptr enum_name, gdx_cptr name, gdx_int value) {
	gdx.classdb_register_extension_class_integer_constant(gdx.library, cls, enum_name, name, value, 0);
}

void gdx_register_property(gdx_cptr cls, gdx_property_info *info, gdx_cptr setter, gdx_cptr getter) {
	gdx.classdb_register_extension_class_property(gdx.library, cls, info, setter, getter);
}

void gdx_register_signal(gdx_cptr cls, gdx_cptr name, gdx_property_info *args, gdx_int argc) {
	gdx.classdb_register_extension_class_signal(gdx.library, cls, name, args, argc);
}

void gdx_unregister_class(gdx_cptr name) {
	gdx.classdb_unregister_extension_class(gdx.library, name);
}

int gdx_editor_help(const char *xml, gdx_int len) {
	if (gdx.editor_help_load_xml_from_utf8_chars_and_len == NULL) {
		return 0;
	}
	gdx.editor_help_load_xml_from_utf8_chars_and_len(xml, len);
	return 1;
}

// _get_packet: copies the packet pkt into buf, the calling thread's slot,
// and points the out-arguments at it. args[0] is a slot holding
// `const uint8_t **`, args[1] a slot holding `int32_t *` (Godot's own output
// variables).
void gdx_hand_packet(const gdx_cptr *args, uint8_t *buf, const uint8_t *pkt, int32_t len) {
	const uint8_t **out_buf = *(const uint8_t ***)args[0];
	int32_t *out_len = *(int32_t **)args[1];
	if (len > 0) {
		memcpy(buf, pkt, (size_t)len);
	}
	*out_buf = buf;
	*out_len = len;
}

// The take_connection(udp_peer) mode's datagram moves, one C call for many
// PacketPeerUDPs: per datagram they are the calls Go made one by one
// (get_packet into a PackedByteArray, put_packet from one), without a
// crossing between Go and C for each. A bind the engine lacks moves nothing.
gdx_int gdx_udp_drain(gdx_ptr available, gdx_ptr get_packet, const uintptr_t *objs, gdx_int n, gdx_int *next,
		uint8_t *buf, gdx_int cap, gdx_dgram *out, gdx_int max_out) {
	if (available == NULL || get_packet == NULL) {
		*next = n;
		return 0;
	}
	void (*ctor)(gdx_ptr, const gdx_cptr *) = gdx.variant_get_ptr_constructor(GDX_PACKED_BYTE_ARRAY, 0);
	gdx_int used = 0, count = 0;
	for (gdx_int i = *next; i < n; i++) {
		gdx_ptr obj = (gdx_ptr)objs[i];
		int64_t avail = 0;
		gdx.object_method_bind_ptrcall(available, obj, NULL, &avail);
		for (; avail > 0; avail--) {
			if (count == max_out || cap - used < GDX_UDP_MAX) {
				*next = i; // this peer's next datagram first, next call
				return count;
			}
			uint8_t pba[GDX_PACKED_ARRAY_SIZE];
			ctor(pba, NULL);
			gdx.object_method_bind_ptrcall(get_packet, obj, NULL, pba);
			gdx_int len = 0;
			const uint8_t *data = gdx_pba_data(pba, &len);
			if (len > GDX_UDP_MAX) {
				len = 0; // not a UDPServer datagram; never larger
			}
			if (len > 0 && data != NULL) {
				memcpy(buf + used, data, (size_t)len);
			}
			gdx_destroy(GDX_PACKED_BYTE_ARRAY, pba);
			out[count].peer = (int32_t)i;
			out[count].len = (int32_t)len;
			count++;
			used += len;
		}
	}
	*next = n;
	return count;
}

void gdx_udp_send(gdx_ptr put_packet, const uintptr_t *objs, const uint8_t *buf, const gdx_dgram *d, gdx_int n) {
	if (put_packet == NULL) {
		return;
	}
	gdx_int off = 0;
	for (gdx_int k = 0; k < n; k++) {
		uint8_t pba[GDX_PACKED_ARRAY_SIZE];
		gdx_pba_new(pba, buf + off, d[k].len);
		int64_t err = 0;
		gdx_cptr args[1] = { pba };
		gdx.object_method_bind_ptrcall(put_packet, (gdx_ptr)objs[d[k].peer], args, &err);
		gdx_destroy(GDX_PACKED_BYTE_ARRAY, pba);
		off += d[k].len;
	}
}
