// Entry point of libbpfast_lammps.so for LAMMPS' `plugin load`: registers pair style bpfast.
#include "lammps_plugin_abi.h"
#include "pair_bpfast.h"

#ifndef BPFAST_LAMMPS_VERSION
#error "BPFAST_LAMMPS_VERSION (the LAMMPS version string, e.g. \"22 Jul 2025\") must be defined"
#endif

namespace {

void* create_pair_bpfast(void* lmp) {
    return static_cast<LAMMPS_NS::Pair*>(
        new LAMMPS_NS::PairBPFast(static_cast<LAMMPS_NS::LAMMPS*>(lmp)));
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void lammpsplugin_init(void* lmp, void* handle,
                                                                        void* register_function) {
    bpfast_lammps_plugin_record record{};
    record.version = BPFAST_LAMMPS_VERSION;
    record.style = "pair";
    record.name = "bpfast";
    record.info = "bpfast pair style: Behler-Parrinello neural-network potentials (n2p2 files)";
    record.author = "bpfast developers";
    record.creator.v1 = &create_pair_bpfast;
    record.handle = handle;
    reinterpret_cast<bpfast_lammps_register_function>(register_function)(&record, lmp);
}
