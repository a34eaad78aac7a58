// The environment of one centre atom (its neighbours within the element's cutoff, as
// structure-of-arrays vectors) from either bpfast's own neighbour list or a host code's
// list. The evaluation passes ask for one centre at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfast/neighbors.hpp"
#include "bpfast/symmetry_functions.hpp"

namespace bpfast {

/// Memory for the environments of one thread, reused from atom to atom.
struct EnvironmentBuffers {
    std::vector<double> dx, dy, dz, r, weight;
    std::vector<int> element;
    std::vector<int64_t> neighbor;  ///< atom index of each entry
    /// Room for `capacity` entries.
    void reserve(size_t capacity);
};

/// A source of environments.
class Environments {
  public:
    virtual ~Environments() = default;
    /// The neighbours of centre i closer than rc into `buffers`; `element` holds the
    /// element index of every atom and `numbers` its atomic number (the weight).
    virtual NeighborEnv fill(int64_t i, double rc, const int* element,
                             EnvironmentBuffers& buffers) const = 0;
};

/// From bpfast's neighbour list, with the positions wrapped as the list expects.
class ListEnvironments final : public Environments {
  public:
    ListEnvironments(const NeighborList& list, const std::vector<double>& wrapped,
                     const int32_t* numbers)
        : list_(list), wrapped_(wrapped), numbers_(numbers) {}
    NeighborEnv fill(int64_t i, double rc, const int* element,
                     EnvironmentBuffers& buffers) const override;

  private:
    const NeighborList& list_;
    const std::vector<double>& wrapped_;
    const int32_t* numbers_;
};

/// From a host code's list (HostNeighbors, potential.hpp): displacements between the
/// positions as given (periodic images are explicit ghost atoms).
class HostEnvironments final : public Environments {
  public:
    HostEnvironments(const double* positions, const int32_t* numbers, const int32_t* counts,
                     const int32_t* const* neighbors, int32_t index_mask)
        : positions_(positions), numbers_(numbers), counts_(counts), neighbors_(neighbors),
          index_mask_(index_mask) {}
    NeighborEnv fill(int64_t i, double rc, const int* element,
                     EnvironmentBuffers& buffers) const override;

  private:
    const double* positions_;
    const int32_t* numbers_;
    const int32_t* counts_;
    const int32_t* const* neighbors_;
    int32_t index_mask_;
};

}  // namespace bpfast
