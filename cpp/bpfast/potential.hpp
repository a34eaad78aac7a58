// A loaded 2nd-generation HDNNP and its evaluation:
// structure -> neighbours -> symmetry functions -> scaling -> network (E, dE/dG)
// -> fused force/virial pass -> Result. Potential::compute finds the neighbours and
// runs one of the passes of evaluation.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "bpfast/environment.hpp"
#include "bpfast/kernel_options.hpp"
#include "bpfast/model.hpp"
#include "bpfast/neighbors.hpp"
#include "bpfast/network.hpp"
#include "bpfast/overlap.hpp"
#include "bpfast/potential_spec.hpp"

namespace bpfast {

/// What to compute in one call.
struct ComputeOptions {
    bool forces = true;
    bool stress = false;    ///< needs a cell
    bool energies = false;  ///< per-atom energies
    int threads = 0;        ///< 0: OpenMP default
    /// Stop after the symmetry functions and return their raw (unscaled) values in
    /// Result::descriptors; energy, forces and stress are not computed.
    bool descriptors_only = false;
    /// Code paths of the kernels (defaults: the fastest; others for tests).
    KernelOptions kernels;
};

/// Wall-clock seconds of each step of one call. When forces or stress are computed, the
/// last three steps run atom by atom in one pass: each is the sum of its time over the
/// threads divided by the thread count.
struct PhaseTimings {
    double neighbors = 0.0;           ///< neighbour list (built or reused)
    double symmetry_functions = 0.0;  ///< symmetry functions, extrapolation counts, scaling
    double network = 0.0;             ///< atomic energies (and dE/dG)
    double forces = 0.0;              ///< force and virial pass
};

/// Results in the potential's own units.
struct Result {
    double energy = 0.0;
    std::vector<double> forces;    ///< n x 3 row-major, if requested
    std::vector<double> energies;  ///< n, if requested
    std::array<double, 9> virial{};  ///< dE/d(strain)_ab = sum_n (dE/dd_n)_a (d_n)_b
    bool has_virial = false;
    /// extrapolations[e][s]: atoms of element e whose raw SF s left [G_min, G_max]
    std::vector<std::vector<int64_t>> extrapolations;
    std::vector<int64_t> extrapolating_atoms;  ///< per element: atoms with any
    /// excursions[e][s]: the raw value of SF s (element e) farthest beyond [G_min, G_max],
    /// as Scaling::excursion (G - G_max > 0 above, G - G_min < 0 below; 0: none)
    std::vector<std::vector<double>> excursions;
    /// The closest two atoms of the neighbour list (own neighbour search only).
    ClosestPair closest_pair;
    int64_t neighbor_pairs = 0;
    /// descriptors_only: raw SF values, per element a matrix whose row r belongs to
    /// atom descriptor_atoms[e][r].
    std::vector<RowMatrix> descriptors;
    std::vector<std::vector<int64_t>> descriptor_atoms;
    PhaseTimings timings;
};

/// Neighbours supplied by a host code (e.g. a LAMMPS pair style) instead of bpfast's own
/// search. Atoms are indexed 0 .. n_total-1 (local atoms and ghost atoms alike); the
/// centres are the atoms whose energies are computed (LAMMPS: ilist[0..inum-1]). For
/// centre i, neighbors[i][0 .. counts[i]-1] are atom indices (after `& index_mask`) of
/// every atom, ghosts included, within the potential's cutoff (more is fine: pairs beyond
/// the cutoff are skipped). Displacements are positions[j] - positions[i]: periodic
/// images must be explicit ghost atoms.
struct HostNeighbors {
    int64_t n_total = 0;               ///< local + ghost atoms
    const double* positions = nullptr;  ///< n_total x 3, row-major
    const int32_t* numbers = nullptr;   ///< atomic number of every atom, n_total
    int64_t n_centers = 0;
    const int32_t* centers = nullptr;   ///< centre atom indices, n_centers
    const int32_t* counts = nullptr;    ///< indexed by atom index: neighbours of a centre
    const int32_t* const* neighbors = nullptr;  ///< indexed by atom index
    int32_t index_mask = ~0;  ///< applied to every neighbour index (LAMMPS: NEIGHMASK)
};

class Potential {
  public:
    explicit Potential(PotentialSpec spec);

    const PotentialSpec& spec() const { return spec_; }
    /// Largest symmetry-function cutoff.
    double cutoff() const { return model_.cutoff; }
    /// Element index for an atomic number, or -1.
    int element_index(int atomic_number) const;
    /// The per-element symmetry functions, scaling and networks.
    const Model& model() const { return model_; }

    /// Evaluates `n` atoms with atomic numbers `numbers` at `positions` (n x 3).
    /// `cell` may be null for open boundaries. Thread-safe (const).
    /// With a `cache` the neighbour list is reused between calls when possible; the cache
    /// is locked for the duration of the call. Identical calls with the same thread count
    /// give bit-identical results (forces.hpp).
    Result compute(const double* positions, const int32_t* numbers, int64_t n, const Cell* cell,
                   const std::array<bool, 3>& pbc, const ComputeOptions& options,
                   NeighborCache* cache = nullptr) const;

    /// Evaluates the centres of a host-provided neighbour list. Result::forces has
    /// n_total x 3 entries (forces on ghosts included, for the host to communicate back),
    /// Result::energies n_total entries (0 for non-centres); Result::virial is
    /// sum over pairs of (dE/dd) (x) d, i.e. the total virial contribution of the centres.
    Result compute(const HostNeighbors& host, const ComputeOptions& options) const;

  private:
    /// The centres' energies (and what `options` asks for) from their environments;
    /// `element` per atom (atom_elements), `res` what the caller measured (neighbour
    /// timing and pairs).
    Result evaluate(std::vector<int> element, int64_t n_centers,
                    const int32_t* centers, int threads, const ComputeOptions& options,
                    const Environments& environments, Result res) const;

    /// A neighbour list whose memory the next compute() reuses (or a new one), and back.
    std::unique_ptr<NeighborList> take_list() const;
    void return_list(std::unique_ptr<NeighborList> list) const;

    PotentialSpec spec_;
    Model model_;
    // The last call's neighbour list, kept for its memory: rebuilding into pages that are
    // already mapped avoids the first-touch page faults (about a third of the search's
    // time, and they scale badly over threads). Freed when much larger than needed.
    mutable std::mutex spare_mutex_;
    mutable std::unique_ptr<NeighborList> spare_list_;
};

}  // namespace bpfast
