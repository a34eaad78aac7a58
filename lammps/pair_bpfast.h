// LAMMPS pair style `bpfast`: a Behler-Parrinello neural-network potential (n2p2/RuNNer
// files) evaluated by the bpfast C++ core from LAMMPS' own full neighbour list.
//
//   pair_style bpfast DIR [length_unit NAME | cflength X] [energy_unit NAME | cfenergy Y]
//                         [threads N]
//   pair_coeff * * El_1 El_2 ... El_ntypes
//
// DIR holds input.nn, scaling.data and weights.ZZZ.data. length_unit / energy_unit name the
// potential's units as bpfast.units does (bohr, angstrom, nm, pm; hartree, ev, rydberg,
// kcal/mol, kj/mol, mev, ...; unit_names.h), converted to the LAMMPS `units` style in force
// (not `lj`). cflength X / cfenergy Y (n2p2's keywords) give the factors as numbers:
// X = potential length units per LAMMPS length unit, Y = potential energy units per LAMMPS
// energy unit. Neither: the potential works in LAMMPS' units. N = OpenMP threads per MPI rank
// (default: LAMMPS' own thread count, i.e. OMP_NUM_THREADS or `package omp`, 1 if unset).
// Requires `newton_pair on`: forces on ghost atoms are returned to their owners by LAMMPS'
// reverse communication. Computes energy, per-atom energy, forces and the global virial;
// per-atom virials are not available.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pair.h"

namespace bpfast {
class Potential;
}

namespace LAMMPS_NS {

class PairBPFast : public Pair {
  public:
    explicit PairBPFast(class LAMMPS* lmp);
    ~PairBPFast() override;

    void compute(int eflag, int vflag) override;
    void settings(int narg, char** arg) override;
    void coeff(int narg, char** arg) override;
    void init_style() override;
    double init_one(int i, int j) override;
    double memory_usage() override;
    void* extract(const char* name, int& dim) override;

  private:
    void allocate();
    void load_potential(const std::string& directory);
    double unit_factor(const std::string& kind, const std::string& name, double cf);

    std::unique_ptr<bpfast::Potential> potential_;
    std::string directory_;
    std::string element_list_;  // "H, O": for error messages
    double length_unit_ = 1.0;  // potential length units per LAMMPS length unit
    double energy_unit_ = 1.0;  // potential energy units per LAMMPS energy unit
    int threads_ = 0;           // 0: comm->nthreads
    double cutoff_ = 0.0;       // in LAMMPS length units
    std::vector<int32_t> type_number_;  // atomic number of each LAMMPS type (index 1..ntypes)

    // Buffers kept between steps: positions in potential units, atomic numbers.
    std::vector<double> positions_;
    std::vector<int32_t> numbers_;
};

}  // namespace LAMMPS_NS
