// A stand-in for the GDExtension loader of several Godot builds. It loads
// the addon's Linux library and calls its entry symbol once per build,
// with a get_proc_address that serves that build's interface functions
// and records every name asked for. A real engine prints an error for each
// name it lacks, so the library must ask only for names the build has (one
// exception below), and must take the functions the build keeps: an engine
// built with deprecated=no has none of the deprecated ones.
//
// The builds' tables are from the engines' sources (gdextension.cpp and
// gdextension_interface.cpp: what each registers, and what it registers
// only without DISABLE_DEPRECATED). 4.4.1 and 4.6-dev, and 4.6-dev built
// with deprecated=no, are also run whole by the engine suite; 4.3 and 4.4
// with deprecated=no are checked only here.
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void *(*get_proc_fn)(const char *);
typedef unsigned char (*entry_fn)(get_proc_fn, void *, void *);

typedef struct {
	uint32_t major, minor, patch;
	const char *string;
} version1;

typedef struct {
	uint32_t major, minor, patch, hex;
	const char *status, *build, *hash;
	uint64_t timestamp;
	const char *string;
} version2;

// The interface functions whose presence differs between the builds below;
// every other name the library asks for is served by all of them.
enum {
	GET_VERSION = 1 << 0,
	GET_VERSION2 = 1 << 1,
	CLASS2 = 1 << 2,
	CLASS3 = 1 << 3,
	CLASS4 = 1 << 4,
	CLASS5 = 1 << 5,
	CONSTRUCT = 1 << 6,
	CONSTRUCT2 = 1 << 7,
};

static const struct {
	const char *name;
	int flag;
} varying[] = {
	{ "get_godot_version", GET_VERSION },
	{ "get_godot_version2", GET_VERSION2 },
	{ "classdb_register_extension_class2", CLASS2 },
	{ "classdb_register_extension_class3", CLASS3 },
	{ "classdb_register_extension_class4", CLASS4 },
	{ "classdb_register_extension_class5", CLASS5 },
	{ "classdb_construct_object", CONSTRUCT },
	{ "classdb_construct_object2", CONSTRUCT2 },
};

typedef struct {
	const char *name;
	uint32_t minor;
	int has;
	// what the library must take: the class registration and construction
	// it will use
	int takes;
	// the one missing name it may ask for (0: none)
	int may_miss;
	// whether it must refuse this build
	int refuse;
} build;

static const build builds[] = {
	{ "4.2", 2, GET_VERSION | CLASS2 | CONSTRUCT, 0, 0, 1 },
	{ "4.3", 3, GET_VERSION | CLASS2 | CLASS3 | CONSTRUCT, CLASS2 | CONSTRUCT, 0, 0 },
	{ "4.4", 4, GET_VERSION | CLASS2 | CLASS3 | CLASS4 | CONSTRUCT | CONSTRUCT2, CLASS4 | CONSTRUCT2, 0, 0 },
	{ "4.4 deprecated=no", 4, GET_VERSION | CLASS4 | CONSTRUCT2, CLASS4 | CONSTRUCT2, 0, 0 },
	{ "4.6", 6, GET_VERSION | GET_VERSION2 | CLASS2 | CLASS3 | CLASS4 | CLASS5 | CONSTRUCT | CONSTRUCT2, CLASS5 | CONSTRUCT2, 0, 0 },
	// get_godot_version is asked for first: any order prints one error on
	// some build, and this one prints it on these builds only
	{ "4.6 deprecated=no", 6, GET_VERSION2 | CLASS5 | CONSTRUCT2, CLASS5 | CONSTRUCT2, GET_VERSION, 0 },
};

static const build *current;
static int asked;   // flags of the varying names asked for
static int missed;  // names asked for that the build lacks
static int errors;  // errors the library printed
static int failures;

static void print_error(const char *desc, const char *msg, const char *func, const char *file, int32_t line, unsigned char notify) {
	errors++;
	printf("  library's error: %s: %s\n", desc, msg);
}

static void get_version(version1 *v) {
	v->major = 4;
	v->minor = current->minor;
	v->patch = 0;
	v->string = "stand-in";
}

static void get_version2(version2 *v) {
	memset(v, 0, sizeof(*v));
	v->major = 4;
	v->minor = current->minor;
	v->string = "stand-in";
}

// Every other function: the entry symbol only stores them.
static void unused(void) {}

static void *get_proc(const char *name) {
	if (strcmp(name, "print_error_with_message") == 0) {
		return (void *)print_error;
	}
	for (size_t i = 0; i < sizeof(varying) / sizeof(varying[0]); i++) {
		if (strcmp(name, varying[i].name) != 0) {
			continue;
		}
		asked |= varying[i].flag;
		if (!(current->has & varying[i].flag)) {
			missed |= varying[i].flag;
			return NULL; // a real engine prints an error here
		}
		if (varying[i].flag == GET_VERSION) {
			return (void *)get_version;
		}
		if (varying[i].flag == GET_VERSION2) {
			return (void *)get_version2;
		}
		return (void *)unused;
	}
	return (void *)unused;
}

static void fail(const char *what) {
	printf("FAIL %s: %s\n", current->name, what);
	failures++;
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: host path/to/libdtls_server.linux.x86_64.so\n");
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "FAIL: %s\n", dlerror());
		return 1;
	}
	entry_fn entry = (entry_fn)dlsym(lib, "dtls_server_library_init");
	if (entry == NULL) {
		fprintf(stderr, "FAIL: entry symbol not exported\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		current = &builds[i];
		asked = missed = errors = 0;
		unsigned char init[64];
		int library;
		memset(init, 0, sizeof(init));
		printf("%s:\n", current->name);
		unsigned char ok = entry(get_proc, &library, init);
		if (current->refuse) {
			if (ok) {
				fail("the library took a build it does not support");
			}
			if (errors != 1) {
				fail("the refusal was not one error");
			}
			continue;
		}
		if (!ok) {
			fail("the library refused the build");
		}
		if (errors != 0) {
			fail("the library printed an error");
		}
		if (missed & ~current->may_miss) {
			fail("asked for a function the build lacks (a real engine prints an error for it)");
		}
		if ((asked & current->takes) != current->takes) {
			fail("did not take the build's class registration and construction");
		}
		int other_families = (CLASS2 | CLASS3 | CLASS4 | CLASS5 | CONSTRUCT | CONSTRUCT2) & ~current->takes;
		if (asked & other_families) {
			fail("asked for a registration or construction it should not use on this build");
		}
		printf("  asked for those that vary: %#x, lacked: %#x\n", asked, missed);
	}
	if (failures != 0) {
		return 1;
	}
	printf("ok: every build's functions taken, no name asked that a build lacks but the one stated\n");
	return 0;
}
