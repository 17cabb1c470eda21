// gdx.h: the part of Godot's GDExtension C interface this addon uses,
// declared by hand from the documented interface (compatibility_minimum 4.3).
// Every pointer Godot keeps (instances, method userdata, virtual data) is an
// integer handle cast to void* on the C side; no Go pointer crosses over.
#ifndef GDX_H
#define GDX_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t gdx_int;
typedef uint8_t gdx_bool;
// Plain macros, not typedefs, so cgo maps them to unsafe.Pointer.
#define gdx_ptr void *
#define gdx_cptr const void *

// Variant type tags used here.
enum {
	GDX_NIL = 0, GDX_BOOL = 1, GDX_INT = 2, GDX_FLOAT = 3, GDX_STRING = 4, GDX_VECTOR4 = 12,
	GDX_STRING_NAME = 21, GDX_OBJECT = 24, GDX_CALLABLE = 25, GDX_DICTIONARY = 27, GDX_ARRAY = 28,
	GDX_PACKED_BYTE_ARRAY = 29,
};

// Variant storage owned by this library. A Variant is 24 bytes in
// single-precision engines (the official builds) and 40 in `precision=double`
// ones; every slot we own is sized for the larger layout, and bytes are never
// copied into or out of a Variant Godot owns (variant_new_copy does that), so
// one library serves both.
#define GDX_VARIANT_SIZE 40
// A ptrcall slot big enough for every argument type used here (a
// PackedByteArray is 16 bytes; String, StringName and Object pointers 8).
#define GDX_SLOT_SIZE 16
// The most arguments any call through these wrappers passes; the wrappers
// refuse more (GDX_CALL_ERROR_TOO_MANY_ARGUMENTS) instead of reading past
// their pointer arrays.
#define GDX_MAX_ARGS 8

// Sizes of builtin values in ptrcall slots (the same in both precisions).
#define GDX_STRING_SIZE 8
#define GDX_STRING_NAME_SIZE 8
#define GDX_PACKED_ARRAY_SIZE 16

// GDExtensionCallErrorType.
enum {
	GDX_CALL_OK = 0,
	GDX_CALL_ERROR_INVALID_METHOD = 1,
	GDX_CALL_ERROR_INVALID_ARGUMENT = 2,
	GDX_CALL_ERROR_TOO_MANY_ARGUMENTS = 3,
	GDX_CALL_ERROR_TOO_FEW_ARGUMENTS = 4,
	GDX_CALL_ERROR_INSTANCE_IS_NULL = 5,
};

// GDExtensionClassMethodFlags.
enum {
	GDX_METHOD_FLAG_NORMAL = 1,
	GDX_METHOD_FLAG_CONST = 4,
};

// GDExtensionClassMethodArgumentMetadata.
enum {
	GDX_METADATA_NONE = 0,
	GDX_METADATA_INT_IS_INT64 = 4,
	GDX_METADATA_REAL_IS_DOUBLE = 10,
};

// PropertyUsageFlags.
enum {
	GDX_USAGE_STORAGE = 2,
	GDX_USAGE_EDITOR = 4,
	GDX_USAGE_DEFAULT = GDX_USAGE_STORAGE | GDX_USAGE_EDITOR,
	GDX_USAGE_CLASS_IS_ENUM = 1 << 16,
};

// Initialization levels.
enum {
	GDX_INIT_SCENE = 2,
	GDX_INIT_EDITOR = 3,
};

typedef struct {
	int32_t error;
	int32_t argument;
	int32_t expected;
} gdx_call_error;

typedef struct {
	uint32_t major, minor, patch;
	const char *string;
} gdx_version;

// get_godot_version2's answer (4.5+); its first three fields are gdx_version's.
typedef struct {
	uint32_t major, minor, patch, hex;
	const char *status, *build, *hash;
	uint64_t timestamp;
	const char *string;
} gdx_version2;

typedef struct {
	uint32_t type; // enum in C: 4 bytes
	gdx_ptr name;       // StringName*
	gdx_ptr class_name; // StringName*
	uint32_t hint;
	gdx_ptr hint_string; // String*
	uint32_t usage;
} gdx_property_info;

typedef void (*gdx_method_call)(void *mud, gdx_ptr inst, const gdx_cptr *args, gdx_int argc, gdx_ptr r_ret, gdx_call_error *err);
typedef void (*gdx_method_ptrcall)(void *mud, gdx_ptr inst, const gdx_cptr *args, gdx_ptr r_ret);

typedef struct {
	gdx_ptr name; // StringName*
	void *method_userdata;
	gdx_method_call call_func;
	gdx_method_ptrcall ptrcall_func;
	uint32_t method_flags;
	gdx_bool has_return_value;
	gdx_property_info *return_value_info;
	uint32_t return_value_metadata;
	uint32_t argument_count;
	gdx_property_info *arguments_info;
	uint32_t *arguments_metadata;
	uint32_t default_argument_count;
	gdx_ptr *default_arguments; // Variant* array
} gdx_method_info;

// GDExtensionClassCreationInfo2 (4.2 layout, accepted by 4.2 ... 4.7).
typedef struct {
	gdx_bool is_virtual;
	gdx_bool is_abstract;
	gdx_bool is_exposed;
	void *set_func;
	void *get_func;
	void *get_property_list_func;
	void *free_property_list_func;
	void *property_can_revert_func;
	void *property_get_revert_func;
	void *validate_property_func;
	void *notification_func;
	void *to_string_func;
	void *reference_func;
	void *unreference_func;
	gdx_ptr (*create_instance_func)(void *class_userdata);
	void (*free_instance_func)(void *class_userdata, gdx_ptr inst);
	void *recreate_instance_func;
	void *get_virtual_func;
	void *(*get_virtual_call_data_func)(void *class_userdata, gdx_cptr name);
	void (*call_virtual_with_data_func)(gdx_ptr inst, gdx_cptr name, void *vdata, const gdx_cptr *args, gdx_ptr r_ret);
	void *get_rid_func;
	void *class_userdata;
} gdx_class_info2;

// GDExtensionClassCreationInfo4 (4.4+), which classdb_register_extension_class5
// (4.5+) takes as well: the layout an engine built with deprecated=no
// accepts. create_instance_func gets whether to send
// NOTIFICATION_POSTINITIALIZE, which objects made with
// classdb_construct_object2 have not had.
typedef struct {
	gdx_bool is_virtual;
	gdx_bool is_abstract;
	gdx_bool is_exposed;
	gdx_bool is_runtime;
	gdx_cptr icon_path; // String*; NULL: none
	void *set_func;
	void *get_func;
	void *get_property_list_func;
	void *free_property_list_func;
	void *property_can_revert_func;
	void *property_get_revert_func;
	void *validate_property_func;
	void *notification_func;
	void *to_string_func;
	void *reference_func;
	void *unreference_func;
	gdx_ptr (*create_instance_func)(void *class_userdata, gdx_bool notify_postinitialize);
	void (*free_instance_func)(void *class_userdata, gdx_ptr inst);
	void *recreate_instance_func;
	void *get_virtual_func;
	void *(*get_virtual_call_data_func)(void *class_userdata, gdx_cptr name, uint32_t hash);
	void (*call_virtual_with_data_func)(gdx_ptr inst, gdx_cptr name, void *vdata, const gdx_cptr *args, gdx_ptr r_ret);
	void *class_userdata;
} gdx_class_info4;

typedef struct {
	uint32_t minimum_initialization_level;
	void *userdata;
	void (*initialize)(void *userdata, uint32_t level);
	void (*deinitialize)(void *userdata, uint32_t level);
} gdx_initialization;

typedef void *(*gdx_get_proc_address)(const char *name);

// Loaded interface. gdx.c loads every field by name; the functions in its
// `required` list must be present, the others (editor help) are optional.
typedef struct {
	void *library;
	gdx_version version;
	// Of each pair below (the version, the construction, the class
	// registration) gdx.c loads one, by the engine's version and what it
	// serves (load_version, load_classdb); the other stays NULL. The older
	// of a pair is deprecated in later engines (missing from deprecated=no
	// builds).
	void (*get_godot_version2)(gdx_version2 *); // 4.5+
	void (*get_godot_version)(gdx_version *);
	void (*print_error_with_message)(const char *, const char *, const char *, const char *, int32_t, gdx_bool);
	void (*print_warning_with_message)(const char *, const char *, const char *, const char *, int32_t, gdx_bool);
	void (*variant_new_copy)(gdx_ptr, gdx_cptr);
	void (*variant_new_nil)(gdx_ptr);
	void (*variant_destroy)(gdx_ptr);
	uint32_t (*variant_get_type)(gdx_cptr);
	void (*variant_call)(gdx_ptr, gdx_cptr, const gdx_cptr *, gdx_int, gdx_ptr, gdx_call_error *);
	void (*variant_construct)(uint32_t, gdx_ptr, const gdx_cptr *, int32_t, gdx_call_error *);
	void (*variant_set)(gdx_ptr, gdx_cptr, gdx_cptr, gdx_bool *);
	void (*variant_get)(gdx_cptr, gdx_cptr, gdx_ptr, gdx_bool *);
	void (*variant_get_indexed)(gdx_cptr, gdx_int, gdx_ptr, gdx_bool *, gdx_bool *);
	void *(*get_variant_from_type_constructor)(uint32_t);
	void *(*get_variant_to_type_constructor)(uint32_t);
	void *(*variant_get_ptr_destructor)(uint32_t);
	void *(*variant_get_ptr_constructor)(uint32_t, int32_t);
	void *(*variant_get_ptr_builtin_method)(uint32_t, gdx_cptr, gdx_int);
	void *(*variant_get_ptr_utility_function)(gdx_cptr, gdx_int);
	gdx_int (*string_new_with_utf8_chars_and_len2)(gdx_ptr, const char *, gdx_int);
	gdx_int (*string_to_utf8_chars)(gdx_cptr, char *, gdx_int);
	void (*string_name_new_with_latin1_chars)(gdx_ptr, const char *, gdx_bool);
	uint8_t *(*packed_byte_array_operator_index)(gdx_ptr, gdx_int);
	const uint8_t *(*packed_byte_array_operator_index_const)(gdx_cptr, gdx_int);
	void (*object_method_bind_call)(gdx_ptr, gdx_ptr, const gdx_cptr *, gdx_int, gdx_ptr, gdx_call_error *);
	void (*object_method_bind_ptrcall)(gdx_ptr, gdx_ptr, const gdx_cptr *, gdx_ptr);
	void (*object_destroy)(gdx_ptr);
	void (*object_set_instance)(gdx_ptr, gdx_cptr, gdx_ptr);
	gdx_ptr (*global_get_singleton)(gdx_cptr);
	gdx_ptr (*ref_get_object)(gdx_cptr);
	void (*ref_set_object)(gdx_ptr, gdx_ptr);
	gdx_ptr (*classdb_construct_object2)(gdx_cptr); // 4.4+, with register_extension_class4/5
	gdx_ptr (*classdb_construct_object)(gdx_cptr);
	gdx_ptr (*classdb_get_method_bind)(gdx_cptr, gdx_cptr, gdx_int);
	void (*classdb_register_extension_class4)(void *, gdx_cptr, gdx_cptr, const gdx_class_info4 *); // class5 (4.5+) or class4 (4.4)
	void (*classdb_register_extension_class2)(void *, gdx_cptr, gdx_cptr, const gdx_class_info2 *);
	void (*classdb_register_extension_class_method)(void *, gdx_cptr, const gdx_method_info *);
	void (*classdb_register_extension_class_integer_constant)(void *, gdx_cptr, gdx_cptr, gdx_cptr, gdx_int, gdx_bool);
	void (*classdb_register_extension_class_property)(void *, gdx_cptr, const gdx_property_info *, gdx_cptr, gdx_cptr);
	void (*classdb_register_extension_class_signal)(void *, gdx_cptr, gdx_cptr, const gdx_property_info *, gdx_int);
	void (*classdb_unregister_extension_class)(void *, gdx_cptr);
	void (*editor_help_load_xml_from_utf8_chars_and_len)(const char *, gdx_int);
} gdx_interface;

extern gdx_interface gdx;

// Helpers implemented in gdx.c; Go calls these, never a function pointer.
void gdx_print_error(const char *desc, const char *msg, const char *func);
void gdx_print_warning(const char *desc, const char *msg, const char *func);
void gdx_variant_from(uint32_t type, gdx_ptr r_variant, gdx_ptr src);
void gdx_variant_to(uint32_t type, gdx_ptr r_dst, gdx_ptr variant);
void gdx_destroy(uint32_t type, gdx_ptr value);
void gdx_variant_destroy(gdx_ptr v);
void gdx_variant_new_nil(gdx_ptr v);
void gdx_variant_new_copy(gdx_ptr dst, gdx_cptr src);
// A scalar result written in place into the caller's initialized Variant
// (what it held is destroyed first). Go passes only the value: a Go
// variable whose address goes to C escapes to the heap, and a result built
// in Go storage cost two heap allocations per call.
void gdx_variant_set_int(gdx_ptr v, int64_t n);
void gdx_variant_set_float(gdx_ptr v, double f);
void gdx_variant_set_bool(gdx_ptr v, uint8_t b);
// A scalar argument read out of a Variant, returned by value for the same
// reason: decoding into Go storage moved each decoded argument to the heap.
int64_t gdx_variant_as_int(gdx_ptr v);
double gdx_variant_as_float(gdx_ptr v);
uint8_t gdx_variant_as_bool(gdx_ptr v);
// The Object v holds; NULL for none, and for one that was freed.
gdx_ptr gdx_variant_as_object(gdx_ptr v);
// Whether v holds an Object that was freed after v was made (a Node a
// script freed): its pointer then dangles, and only this says so.
gdx_bool gdx_variant_holds_freed_object(gdx_cptr v);
uint32_t gdx_variant_type(gdx_cptr v);
void gdx_variant_construct(uint32_t type, gdx_ptr r_variant);
gdx_bool gdx_variant_set(gdx_ptr self, gdx_cptr key, gdx_cptr value);
gdx_bool gdx_variant_get(gdx_cptr self, gdx_cptr key, gdx_ptr r_ret);
gdx_bool gdx_variant_get_indexed(gdx_cptr self, gdx_int i, gdx_ptr r_ret);
void gdx_variant_call(gdx_ptr self, gdx_cptr method, gdx_ptr variants, int argc, gdx_ptr r_ret, gdx_call_error *err);
void gdx_string_new(gdx_ptr r_string, const char *utf8, gdx_int len);
gdx_int gdx_string_to_utf8(gdx_cptr s, char *buf, gdx_int max);
void gdx_string_from_name(gdx_ptr r_string, gdx_cptr name);
void gdx_string_name_new(gdx_ptr r_name, const char *latin1);
int gdx_cache_builtins(void);
int gdx_engine_variant_size(void);
void gdx_pba_new(gdx_ptr r_pba, const uint8_t *data, gdx_int len);
const uint8_t *gdx_pba_data(gdx_cptr pba, gdx_int *r_len);
void gdx_array_ref(gdx_ptr r_array, gdx_cptr array_variant);
void gdx_array_unref(gdx_ptr array);
void gdx_append_pair(gdx_ptr array, gdx_cptr value, const uint8_t *data, gdx_int len);
void gdx_append_objects(gdx_ptr array, gdx_ptr const *objs, gdx_int n);
void gdx_retain_each(gdx_ptr reference, gdx_ptr const *objs, gdx_int n, uint8_t *took);
void gdx_release_each(gdx_ptr unreference, gdx_ptr const *objs, gdx_int n);
void gdx_bind_call(gdx_ptr mb, gdx_ptr obj, gdx_ptr variants, int argc, gdx_ptr r_ret, gdx_call_error *err);
int gdx_bind_ptrcall(gdx_ptr mb, gdx_ptr obj, gdx_ptr slots, int argc, gdx_ptr r_ret);
gdx_ptr gdx_method_bind(const char *cls, const char *method, gdx_int hash);
void gdx_object_destroy(gdx_ptr obj);
void gdx_object_set_instance(gdx_ptr obj, gdx_cptr class_name, uintptr_t handle);
gdx_ptr gdx_ref_get(gdx_cptr slot);
void gdx_ref_set(gdx_ptr slot, gdx_ptr obj);
gdx_ptr gdx_construct(gdx_cptr class_name);
gdx_bool gdx_construct_leaves_postinitialize(void);
uint32_t gdx_godot_minor(void);
void gdx_register_class(gdx_cptr name, gdx_cptr parent, uintptr_t class_id, int with_virtuals);
void gdx_register_method(gdx_cptr cls, gdx_method_info *info, uintptr_t method_id);
void gdx_register_constant(gdx_cptr cls, gdx_cptr enum_name, gdx_cptr name, gdx_int value);
void gdx_register_property(gdx_cptr cls, gdx_property_info *info, gdx_cptr setter, gdx_cptr getter);
void gdx_register_signal(gdx_cptr cls, gdx_cptr name, gdx_property_info *args, gdx_int argc);
void gdx_unregister_class(gdx_cptr name);
int gdx_editor_help(const char *xml, gdx_int len);
void gdx_hand_packet(const gdx_cptr *args, uint8_t *buf, const uint8_t *pkt, int32_t len);

// One datagram of a batch: the index of its PacketPeerUDP in the objects
// array and its length; the bytes lie back to back in the batch's buffer.
typedef struct {
	int32_t peer;
	int32_t len;
} gdx_dgram;

// The largest datagram UDPServer hands a peer (its receive buffer).
#define GDX_UDP_MAX 65536

// gdx_udp_drain moves the queued datagrams of objs[*next..n) into buf (cap
// bytes) and out (max_out entries), stopping while room for one more is
// not certain; *next says where to go on. Returns the datagrams moved.
gdx_int gdx_udp_drain(gdx_ptr available, gdx_ptr get_packet, const uintptr_t *objs, gdx_int n, gdx_int *next,
		uint8_t *buf, gdx_int cap, gdx_dgram *out, gdx_int max_out);
// gdx_udp_send puts n datagrams from buf, each to its objs[peer].
void gdx_udp_send(gdx_ptr put_packet, const uintptr_t *objs, const uint8_t *buf, const gdx_dgram *d, gdx_int n);

// gdx_on_main_thread tells whether the caller runs on the thread that
// initialized the extension (Godot's main thread).
gdx_bool gdx_on_main_thread(void);
// gdx_thread_id names the calling thread while it lives (an id may be
// reused once its thread has ended).
uint64_t gdx_thread_id(void);

// gdx_singleton is the engine singleton named by the StringName at name,
// or NULL.
gdx_ptr gdx_singleton(gdx_cptr name);

// gdx_variant_construct_with builds a Variant of type from argc Variant
// arguments (Callable(object, method): type CALLABLE, two arguments).
void gdx_variant_construct_with(uint32_t type, gdx_ptr r_variant, gdx_ptr variants, int argc, gdx_call_error *err);

// Call latency (call_latency.c): every call Godot makes into the library,
// timed on the C side. Bucket 0 counts calls under 1 us, bucket b calls of
// [2^(b-1), 2^b) us; the last bucket takes everything longer.
#define GDX_CALL_BUCKETS 24
uint64_t gdx_call_begin(void);
void gdx_call_end(uint64_t began);
void gdx_call_latency(uint64_t *counts, uint64_t *total_ns, uint64_t *worst_ns);
// gdx_call_worst_since_read returns the slowest call since its previous
// call (the monitor's reading) and starts over.
uint64_t gdx_call_worst_since_read(void);

#endif
