// LAMMPS pair style `bpfast` (see pair_bpfast.h): the committee's spread. The members'
// forces on ghost atoms go back to their owners by reverse communication; each local atom's
// force spread, the maximum over all ranks and the standard deviation of the members'
// energies are reported through the spread file (rank 0), compute pair, extract and
// extract_peratom.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "update.h"

#include "bpfast/potential.hpp"
#include "committee_spread.h"
#include "pair_bpfast.h"

using namespace LAMMPS_NS;

// Opens (truncates) the spread file on rank 0; an empty path closes the current one.
void PairBPFast::open_spread_file(const std::string& path) {
    close_spread_file();
    spread_path_ = path;
    last_written_step_ = -1;
    if (path.empty()) return;
    std::string message;
    if (comm->me == 0) {
        spread_file_ = std::fopen(path.c_str(), "w");
        if (spread_file_ == nullptr) {
            message = std::strerror(errno);
        } else {
            std::fprintf(spread_file_, "# pair_style bpfast: committee of %zu potentials\n",
                         members_.size());
            for (size_t m = 0; m < directories_.size(); ++m) {
                std::fprintf(spread_file_, "# member %zu: %s\n", m + 1, directories_[m].c_str());
            }
            std::fprintf(spread_file_,
                         "# step max_force_spread energy_std (units %s; standard deviations over "
                         "the members, ddof=0)\n",
                         update->unit_style);
            std::fflush(spread_file_);
        }
    }
    int failed = message.empty() ? 0 : 1;
    MPI_Bcast(&failed, 1, MPI_INT, 0, world);
    if (failed) {
        error->all(FLERR, "pair_style bpfast: cannot open spread_file '{}'{}{}", path,
                   message.empty() ? "" : ": ", message);
    }
    if (members_.size() == 1 && comm->me == 0) {
        error->warning(FLERR, "pair_style bpfast: spread_file with a single potential: the "
                              "spread of one member is 0");
    }
}

void PairBPFast::close_spread_file() {
    if (spread_file_ != nullptr) std::fclose(spread_file_);
    spread_file_ = nullptr;
}

std::vector<double> PairBPFast::member_totals(const std::vector<bpfast::Result>& results) {
    const size_t members = results.size();
    // [0, M): member energies (LAMMPS units); [M, 2M): member extrapolation counts.
    std::vector<double> local(2 * members, 0.0);
    for (size_t m = 0; m < members; ++m) {
        local[m] = results[m].energy / energy_unit_;
        int64_t outside = 0;
        for (const auto& per_element : results[m].extrapolations) {
            for (const int64_t count : per_element) outside += count;
        }
        local[members + m] = static_cast<double>(outside);
    }
    if (members == 1) {
        pvector[0] = local[1];  // this rank's count; compute pair sums over ranks
        return {local[0]};
    }
    std::vector<double> total(2 * members, 0.0);
    MPI_Allreduce(local.data(), total.data(), static_cast<int>(total.size()), MPI_DOUBLE, MPI_SUM,
                  world);
    const double largest = *std::max_element(total.begin() + members, total.end());
    pvector[0] = comm->me == 0 ? largest : 0.0;
    total.resize(members);
    return total;
}

void PairBPFast::compute_spread(const std::vector<bpfast::Result>& results,
                                const std::vector<double>& member_energies, int nall,
                                bool write) {
    const size_t members = results.size();
    const int nlocal = atom->nlocal;
    force_spread_.assign(std::max(nlocal, 1), 0.0);
    double local_max = 0.0;
    max_force_spread_ = 0.0;
    if (members > 1) {
        const double to_force = length_unit_ / energy_unit_;
        const size_t width = 3 * members;
        member_forces_.resize(width * nall);
        for (int i = 0; i < nall; ++i) {
            for (size_t m = 0; m < members; ++m) {
                for (int c = 0; c < 3; ++c) {
                    member_forces_[width * i + 3 * m + c] = results[m].forces[3 * i + c] * to_force;
                }
            }
        }
        comm->reverse_comm(this);  // ghost atoms' member forces onto their owners
        for (int i = 0; i < nlocal; ++i) {
            force_spread_[i] = bpfast_lammps::force_spread(&member_forces_[width * i], members);
            if (!(force_spread_[i] <= local_max)) local_max = force_spread_[i];  // NaN too
        }
        MPI_Allreduce(&local_max, &max_force_spread_, 1, MPI_DOUBLE, MPI_MAX, world);
    }
    energy_std_ = bpfast_lammps::member_std(member_energies.data(), members);
    pvector[1] = comm->me == 0 ? max_force_spread_ : 0.0;
    pvector[2] = comm->me == 0 ? energy_std_ : 0.0;
    if (!write) return;
    last_written_step_ = update->ntimestep;
    if (spread_file_ != nullptr) {
        std::fprintf(spread_file_, BIGINT_FORMAT " %.17g %.17g\n", update->ntimestep,
                     max_force_spread_, energy_std_);
        std::fflush(spread_file_);
    }
}

int PairBPFast::pack_reverse_comm(int n, int first, double* buf) {
    const size_t width = 3 * members_.size();
    int k = 0;
    for (int i = first; i < first + n; ++i) {
        for (size_t c = 0; c < width; ++c) buf[k++] = member_forces_[width * i + c];
    }
    return k;
}

void PairBPFast::unpack_reverse_comm(int n, int* list, double* buf) {
    const size_t width = 3 * members_.size();
    int k = 0;
    for (int i = 0; i < n; ++i) {
        for (size_t c = 0; c < width; ++c) member_forces_[width * list[i] + c] += buf[k++];
    }
}

// extract_peratom("force_spread"): each local atom's force spread (LAMMPS force units) at
// the last spread step, for `fix pair N bpfast force_spread 1`.
void* PairBPFast::extract_peratom(const char* name, int& ncol) {
    ncol = 0;
    if (std::strcmp(name, "force_spread") == 0) return force_spread_.data();
    return nullptr;
}
