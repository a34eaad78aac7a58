// LAMMPS pair style `bpfast`: a Behler-Parrinello neural-network potential (n2p2/RuNNer
// files), or a committee of them, evaluated by the bpfast C++ core from LAMMPS' own full
// neighbour list.
//
//   pair_style bpfast DIR [DIR ...] [length_unit NAME | cflength X]
//                     [energy_unit NAME | cfenergy Y] [threads N]
//                     [spread_file FILE] [spread_every K]
//   pair_coeff * * El_1 El_2 ... El_ntypes     (El: an element symbol, or NULL)
//
// DIR holds input.nn, scaling.data and weights.ZZZ.data. length_unit / energy_unit name the
// potential's units as bpfast.units does (bohr, angstrom, nm, pm; hartree, ev, rydberg,
// kcal/mol, kj/mol, mev, ...; unit_names.h), converted to the LAMMPS `units` style in force
// (not `lj`). cflength X / cfenergy Y (n2p2's keywords) give the factors as numbers:
// X = potential length units per LAMMPS length unit, Y = potential energy units per LAMMPS
// energy unit. Neither: the potential works in LAMMPS' units. N = OpenMP threads per MPI rank
// (default: LAMMPS' own thread count, i.e. OMP_NUM_THREADS or `package omp`, 1 if unset).
//
// Several directories form a committee (same elements, same units), evaluated by
// bpfast::Committee: the members' mean energy, per-atom energies, forces and virial drive
// the dynamics. At steps that are multiples of K (default 1) the pair style computes each
// atom's force spread (the norm of the per-component standard deviations of its force over
// the members, ddof = 0), its maximum over all atoms and the standard deviation of the
// members' energies; with spread_file, rank 0 writes them to FILE (one line per step:
// step, max force spread, energy std, in LAMMPS units). They are also `compute pair bpfast`
// values 2 and 3 (1: extrapolation count, the largest of a member),
// extract("max_force_spread") / ("energy_std"), and per atom extract_peratom("force_spread")
// for `fix pair N bpfast force_spread 1`. Other steps need no member forces: the core
// returns the forces of the mean energy from one force sweep.
//
// NULL in pair_coeff leaves a type out (pair_style hybrid or hybrid/overlay gives it other
// styles): its atoms are no centres and, in the neighbour lists that hybrid builds for this
// style, no neighbours.
//
// Requires `newton_pair on`: forces on ghost atoms are returned to their owners by LAMMPS'
// reverse communication. Computes energy, per-atom energy, forces and the global virial;
// per-atom virials are not available.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "pair.h"

namespace bpfast {
class Committee;
class Potential;
struct CommitteeResult;
struct Result;
struct HostNeighbors;
struct ComputeOptions;
}  // namespace bpfast

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
    void* extract_peratom(const char* name, int& ncol) override;
    int pack_reverse_comm(int n, int first, double* buf) override;
    void unpack_reverse_comm(int n, int* list, double* buf) override;

  private:
    void allocate();
    std::shared_ptr<const bpfast::Potential> load_potential(const std::string& directory);
    void check_directories(const std::vector<std::string>& directories);
    void load_members(const std::vector<std::string>& directories);
    double unit_factor(const std::string& kind, const std::string& name, double cf);
    void open_spread_file(const std::string& path);
    void close_spread_file();

    /// Every member's energies for the host neighbour list, in member order, and with
    /// `member_forces` each member's forces and virial, else those of the members' mean
    /// energy (one force sweep).
    bpfast::CommitteeResult evaluate_members(const bpfast::HostNeighbors& host,
                                             const bpfast::ComputeOptions& options,
                                             bool member_forces) const;
    /// Adds the members' mean forces, energy, per-atom energies and virial to LAMMPS'.
    void tally_mean(const bpfast::CommitteeResult& results, bool member_forces, int nall);
    /// Extrapolation count of the last evaluation (pvector[0]) and the members' total
    /// energies (LAMMPS units), summed over ranks when there are several members.
    std::vector<double> member_totals(const std::vector<bpfast::Result>& results);
    /// Per-atom force spreads of the local atoms, their maximum over ranks and the energy
    /// standard deviation; written to the spread file by rank 0 when `write` is set.
    void compute_spread(const std::vector<bpfast::Result>& results,
                        const std::vector<double>& member_energies, int nall, bool write);

    std::vector<std::shared_ptr<const bpfast::Potential>> members_;  // in the given order
    std::unique_ptr<bpfast::Committee> committee_;  // evaluates the members together
    std::vector<std::string> directories_;
    std::string element_list_;  // "H, O": for error messages
    double length_unit_ = 1.0;  // potential length units per LAMMPS length unit
    double energy_unit_ = 1.0;  // potential energy units per LAMMPS energy unit
    int threads_ = 0;           // 0: comm->nthreads
    double cutoff_ = 0.0;       // the largest member cutoff, in LAMMPS length units
    // atomic number of each LAMMPS type (index 1..ntypes); 0 for NULL and before pair_coeff
    std::vector<int32_t> type_number_;

    // Committee spread: computed at steps that are multiples of spread_every_ and when
    // `fix pair` asks for force_spread (force_spread_flag_).
    bigint spread_every_ = 1;
    std::string spread_path_;
    FILE* spread_file_ = nullptr;   // open on rank 0 only
    bigint last_written_step_ = -1;
    int force_spread_flag_ = 0;
    double max_force_spread_ = 0.0;  // LAMMPS force units, same on every rank
    double energy_std_ = 0.0;        // LAMMPS energy units, same on every rank

    // Buffers kept between steps: positions in potential units, atomic numbers; each
    // atom's member forces (members x 3, LAMMPS units, local and ghost atoms, summed onto
    // the owners by reverse communication) and the local atoms' force spreads.
    std::vector<double> positions_;
    std::vector<int32_t> numbers_;
    std::vector<double> member_forces_;
    std::vector<double> force_spread_;
};

}  // namespace LAMMPS_NS
