// LAMMPS pair style `bpfast` (see pair_bpfast.h). The bpfast core does all the work; this
// file only converts units, hands LAMMPS' full neighbour list to
// bpfast::Committee::compute(const HostNeighbors&, ...) (one member: a single potential),
// tallies the members' mean as LAMMPS asks for it and reports the members' spread.
#include "pair_bpfast.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iterator>
#include <string>
#include <system_error>

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

#include "bpfast/committee.hpp"
#include "bpfast/elements.hpp"
#include "bpfast/errors.hpp"
#include "bpfast/n2p2_io.hpp"
#include "bpfast/potential.hpp"
#include "bpfast/threading.hpp"
#include "unit_names.h"

using namespace LAMMPS_NS;

namespace {

// The keywords of pair_style bpfast, each followed by one value; the arguments before the
// first keyword are the potential directories.
constexpr const char* kKeywords[] = {"length_unit", "energy_unit",  "cflength",    "cfenergy",
                                     "threads",     "spread_file", "spread_every"};

bool is_keyword(const char* word) {
    for (const char* key : kKeywords) {
        if (std::strcmp(word, key) == 0) return true;
    }
    return false;
}

std::string keyword_list() {
    std::string list;
    const size_t n = std::size(kKeywords);
    for (size_t k = 0; k < n; ++k) {
        list += (k == 0 ? "" : k + 1 == n ? " or " : ", ") + std::string(kKeywords[k]);
    }
    return list;
}

std::string join(const std::vector<std::string>& words) {
    std::string list;
    for (const auto& word : words) list += (list.empty() ? "" : ", ") + word;
    return list;
}

}  // namespace

PairBPFast::PairBPFast(LAMMPS* lmp) : Pair(lmp) {
    single_enable = 0;   // no pairwise single(): the energy is many-body
    restartinfo = 0;     // nothing in restart files; pair_style/pair_coeff are re-read
    one_coeff = 1;       // only `pair_coeff * * ...`
    manybody_flag = 1;
    // The core returns the exact virial sum_pairs (dE/dd) (x) d, so LAMMPS' F.r fallback
    // is not needed (and per-atom virials are not available).
    no_virial_fdotr_compute = 1;
    centroidstressflag = CENTROID_NOTAVAIL;
    // compute pair bpfast -> c_ID[1..3], summed over ranks by LAMMPS:
    // [1] number of (atom, symmetry function) values outside the range of scaling.data in
    //     the last evaluation (of a committee: the largest count of a member);
    // [2] the largest per-atom force spread and [3] the energy standard deviation of the
    //     committee at the last spread step (on rank 0; 0 on the other ranks).
    nextra = 3;
    pvector = new double[nextra];
    for (int k = 0; k < nextra; ++k) pvector[k] = 0.0;
    force_spread_.assign(1, 0.0);  // extract_peratom() never returns null
}

PairBPFast::~PairBPFast() {
    close_spread_file();
    delete[] pvector;
    pvector = nullptr;
    if (allocated) {
        memory->destroy(setflag);
        memory->destroy(cutsq);
    }
}

void PairBPFast::allocate() {
    allocated = 1;
    const int n = atom->ntypes;
    memory->create(setflag, n + 1, n + 1, "pair:setflag");
    memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
    for (int i = 0; i <= n; ++i) {
        for (int j = 0; j <= n; ++j) setflag[i][j] = 0;
    }
    type_number_.assign(n + 1, 0);
}

/* ----------------------------------------------------------------------
   pair_style bpfast DIR [DIR ...] [length_unit NAME | cflength X]
                     [energy_unit NAME | cfenergy Y] [threads N]
                     [spread_file FILE] [spread_every K]
------------------------------------------------------------------------- */

void PairBPFast::settings(int narg, char** arg) {
    int ndirectories = 0;
    while (ndirectories < narg && !is_keyword(arg[ndirectories])) ++ndirectories;
    if (ndirectories == 0) {
        error->all(FLERR,
                   "Illegal pair_style bpfast command: expected pair_style bpfast DIR [DIR ...] "
                   "[keyword value ...] (keywords: {})",
                   keyword_list());
    }
    const std::vector<std::string> directories(arg, arg + ndirectories);
    std::string length_name, energy_name, spread_path;
    double cflength = 0.0, cfenergy = 0.0;  // 0: not given
    int threads = 0;
    bigint spread_every = 1;
    for (int k = ndirectories; k < narg; k += 2) {
        const std::string key = arg[k];
        if (k + 1 >= narg) {
            error->all(FLERR, "Illegal pair_style bpfast command: keyword {} needs a value", key);
        }
        if (key == "length_unit") {
            length_name = arg[k + 1];
        } else if (key == "energy_unit") {
            energy_name = arg[k + 1];
        } else if (key == "cflength" || key == "cfenergy") {
            const double factor = utils::numeric(FLERR, arg[k + 1], false, lmp);
            if (!(factor > 0.0) || !std::isfinite(factor)) {
                error->all(FLERR, "pair_style bpfast: {} must be a positive number, got {}", key,
                           arg[k + 1]);
            }
            (key == "cflength" ? cflength : cfenergy) = factor;
        } else if (key == "threads") {
            threads = utils::inumeric(FLERR, arg[k + 1], false, lmp);
            if (threads < 1 || threads > bpfast::kMaxThreads) {
                error->all(FLERR, "pair_style bpfast: threads must be from 1 to {}, got {}",
                           bpfast::kMaxThreads, arg[k + 1]);
            }
        } else if (key == "spread_file") {
            spread_path = arg[k + 1];
        } else if (key == "spread_every") {
            spread_every = utils::bnumeric(FLERR, arg[k + 1], false, lmp);
            if (spread_every < 1) {
                error->all(FLERR, "pair_style bpfast: spread_every must be a positive number "
                                  "of steps, got {}",
                           arg[k + 1]);
            }
        } else {
            error->all(FLERR, "Illegal pair_style bpfast command: unknown keyword '{}' (expected {})",
                       key, keyword_list());
        }
    }
    check_directories(directories);
    length_unit_ = unit_factor("length", length_name, cflength);
    energy_unit_ = unit_factor("energy", energy_name, cfenergy);
    threads_ = threads;
    load_members(directories);
    spread_every_ = spread_every;
    open_spread_file(spread_path);
    if (comm->me == 0) {
        const auto* style = bpfast_lammps::find_lammps_unit_style(update->unit_style);
        utils::logmesg(lmp,
                       "pair_style bpfast: 1 LAMMPS length unit = {} potential length units, "
                       "1 LAMMPS energy unit = {} potential energy units (units {}: {})\n",
                       length_unit_, energy_unit_, update->unit_style,
                       style != nullptr ? style->description : "no physical scale");
    }

    // A new pair_style command invalidates an earlier element mapping.
    if (allocated) {
        const int n = atom->ntypes;
        for (int i = 0; i <= n; ++i) {
            for (int j = 0; j <= n; ++j) setflag[i][j] = 0;
        }
        type_number_.assign(n + 1, 0);
    }
}

// After the first directory, an argument that is neither a keyword nor an existing path is
// most likely a misspelt keyword: say both (rank 0 looks, every rank stops).
void PairBPFast::check_directories(const std::vector<std::string>& directories) {
    int missing = -1;
    if (comm->me == 0) {
        for (size_t k = 1; k < directories.size() && missing < 0; ++k) {
            std::error_code ec;
            if (!std::filesystem::exists(directories[k], ec)) missing = static_cast<int>(k);
        }
    }
    MPI_Bcast(&missing, 1, MPI_INT, 0, world);
    if (missing < 0) return;
    const std::string& word = directories[missing];
    if (word.find('/') != std::string::npos) {
        error->all(FLERR, "pair_style bpfast: cannot load the potential in '{}': no such "
                          "directory",
                   word);
    }
    error->all(FLERR,
               "Illegal pair_style bpfast command: unknown keyword '{}' (expected {}), and no "
               "potential directory '{}' exists",
               word, keyword_list(), word);
}

// Potential units per LAMMPS unit of `kind` ("length" or "energy"): from the potential's
// unit `name` (bpfast.units' names) and the LAMMPS `units` style in force, or n2p2's factor
// `cf` (cflength / cfenergy; 0 when not given); 1 when neither is given.
double PairBPFast::unit_factor(const std::string& kind, const std::string& name, double cf) {
    namespace bl = bpfast_lammps;
    const bool length = kind == "length";
    const std::string keyword = kind + "_unit", cf_keyword = length ? "cflength" : "cfenergy";
    if (name.empty()) return cf > 0.0 ? cf : 1.0;
    if (cf > 0.0) {
        error->all(FLERR, "pair_style bpfast: give {} or {}, not both", keyword, cf_keyword);
    }
    const double potential_unit =
        length ? bl::find_unit(bl::kLengthUnits, name) : bl::find_unit(bl::kEnergyUnits, name);
    if (potential_unit == 0.0) {
        const std::string names =
            length ? bl::unit_names(bl::kLengthUnits) : bl::unit_names(bl::kEnergyUnits);
        char* end = nullptr;
        std::strtod(name.c_str(), &end);
        if (end != name.c_str() && *end == '\0') {
            error->all(FLERR,
                       "pair_style bpfast: {} takes the potential's {} unit by name ({}), got "
                       "the number {}; for a number use {} (potential {} units per LAMMPS {} "
                       "unit)",
                       keyword, kind, names, name, cf_keyword, kind, kind);
        }
        const bool ascii = bl::printable(name) == name;
        error->all(FLERR, "pair_style bpfast: unknown {} unit '{}'; use one of {}{}", kind,
                   bl::printable(name), names,
                   ascii ? "" : " (LAMMPS replaces non-ASCII characters in its input: write "
                                "angstrom for \u00c5)");
    }
    const std::string style = update->unit_style;
    const bl::LammpsUnitStyle* lammps_units = bl::find_lammps_unit_style(style);
    if (lammps_units == nullptr) {
        error->all(FLERR,
                   "pair_style bpfast: {} {} needs LAMMPS units with a physical scale ({}); "
                   "'units {}' has none: leave {} out (potential units = LAMMPS units) or give "
                   "{} (potential {} units per LAMMPS {} unit)",
                   keyword, bl::printable(name), bl::lammps_unit_style_names(), style, keyword,
                   cf_keyword, kind, kind);
    }
    return (length ? lammps_units->length : lammps_units->energy) / potential_unit;
}

std::shared_ptr<const bpfast::Potential> PairBPFast::load_potential(const std::string& directory) {
    std::shared_ptr<const bpfast::Potential> potential;
    std::string message;
    try {
        potential = std::make_shared<const bpfast::Potential>(bpfast::read_n2p2_potential(directory));
    } catch (const std::exception& e) {
        message = e.what();
    }
    // Every rank reads the files. A failure on some ranks only must not leave the others
    // waiting in a collective call: those ranks abort.
    int failed = message.empty() ? 0 : 1, nfailed = 0;
    MPI_Allreduce(&failed, &nfailed, 1, MPI_INT, MPI_SUM, world);
    if (nfailed == comm->nprocs) {
        error->all(FLERR, "pair_style bpfast: cannot load the potential in '{}': {}", directory,
                   message);
    }
    if (nfailed > 0) {
        if (failed) {
            error->one(FLERR, "pair_style bpfast: cannot load the potential in '{}': {}",
                       directory, message);
        }
        error->all(FLERR, "pair_style bpfast: cannot load the potential in '{}' on {} of {} ranks",
                   directory, nfailed, comm->nprocs);
    }
    return potential;
}

// Loads the committee (one member: a single potential). Members must describe the same
// elements; their cutoffs may differ (each skips the neighbours beyond its own).
void PairBPFast::load_members(const std::vector<std::string>& directories) {
    std::vector<std::shared_ptr<const bpfast::Potential>> members;
    for (const auto& directory : directories) members.push_back(load_potential(directory));
    const auto& elements = members[0]->spec().elements;
    double cutoff = 0.0;
    for (size_t m = 0; m < members.size(); ++m) {
        const auto& other = members[m]->spec().elements;
        if (other != elements) {
            error->all(FLERR,
                       "pair_style bpfast: the potentials of a committee must describe the same "
                       "elements: '{}' describes {}, but '{}' describes {}",
                       directories[0], join(elements), directories[m], join(other));
        }
        cutoff = std::max(cutoff, members[m]->cutoff());
    }
    try {
        committee_ = std::make_unique<bpfast::Committee>(members);
    } catch (const std::exception& e) {
        error->all(FLERR, "pair_style bpfast: cannot form a committee of {}: {}",
                   join(directories), e.what());
    }
    members_ = std::move(members);
    directories_ = directories;
    element_list_ = join(elements);
    cutoff_ = cutoff / length_unit_;
    // Per-atom member forces of ghost atoms go back to their owners for the spread.
    comm_reverse = members_.size() > 1 ? 3 * static_cast<int>(members_.size()) : 0;
    if (comm->me != 0) return;
    for (size_t m = 0; m < members_.size(); ++m) {
        utils::logmesg(lmp,
                       "pair_style bpfast: potential '{}': elements {}, cutoff {} (potential "
                       "units) = {} (LAMMPS units)\n",
                       directories_[m], element_list_, members_[m]->cutoff(),
                       members_[m]->cutoff() / length_unit_);
    }
    if (members_.size() > 1) {
        utils::logmesg(lmp,
                       "pair_style bpfast: committee of {} potentials: their mean energy, forces "
                       "and virial drive the dynamics; cutoff {} (LAMMPS units); {} group(s) of "
                       "members that share symmetry functions and scaling\n",
                       members_.size(), cutoff_, committee_->groups().size());
    }
}

/* ----------------------------------------------------------------------
   pair_coeff * * El_1 ... El_ntypes   (element symbol of each atom type, or NULL
   for a type that pair_style hybrid gives to other styles only)
------------------------------------------------------------------------- */

void PairBPFast::coeff(int narg, char** arg) {
    if (members_.empty()) error->all(FLERR, "pair_coeff bpfast: no potential loaded (pair_style)");
    if (!allocated) allocate();
    const int ntypes = atom->ntypes;
    if (narg != 2 + ntypes || std::strcmp(arg[0], "*") != 0 || std::strcmp(arg[1], "*") != 0) {
        error->all(FLERR,
                   "Incorrect args for pair coefficients: expected pair_coeff * * followed by "
                   "one element symbol (or NULL) for each of the {} atom types, got {} "
                   "arguments",
                   ntypes, narg);
    }
    for (int t = 1; t <= ntypes; ++t) {
        const std::string symbol = arg[1 + t];
        if (symbol == "NULL") {
            // Not this style's atoms: pair_style hybrid leaves them out of this style's
            // neighbour lists (no centres, no neighbours).
            if (force->pair == this) {
                error->all(FLERR,
                           "pair_coeff bpfast: NULL (atom type {}) needs pair_style hybrid or "
                           "hybrid/overlay, with another style for the pairs of that type",
                           t);
            }
            type_number_[t] = 0;
            continue;
        }
        const int z = bpfast::atomic_number(symbol);
        if (z == 0) {
            error->all(FLERR,
                       "pair_coeff bpfast: '{}' (atom type {}) is not an element symbol; the "
                       "potential '{}' describes {}",
                       symbol, t, directories_[0], element_list_);
        }
        if (members_[0]->element_index(z) < 0) {
            error->all(FLERR,
                       "pair_coeff bpfast: element {} (atom type {}) is not in the potential "
                       "'{}', which describes {}",
                       symbol, t, directories_[0], element_list_);
        }
        type_number_[t] = z;
    }
    for (int i = 1; i <= ntypes; ++i) {
        for (int j = i; j <= ntypes; ++j) {
            setflag[i][j] = type_number_[i] > 0 && type_number_[j] > 0;
        }
    }
}

void PairBPFast::init_style() {
    if (members_.empty()) error->all(FLERR, "Pair style bpfast: no potential loaded");
    if (force->newton_pair == 0) {
        error->all(FLERR, "Pair style bpfast requires newton pair on (forces on ghost atoms "
                          "are returned to their owners by reverse communication)");
    }
    // Bonded (special) pairs must be in the neighbour list like any other: with factors
    // below 1 LAMMPS leaves them out (0) or marks them for scaling, and the symmetry
    // functions would miss a molecule's own atoms.
    if (atom->molecular != Atom::ATOMIC) {
        for (int k = 1; k <= 3; ++k) {
            if (force->special_lj[k] != 1.0 || force->special_coul[k] != 1.0) {
                error->all(FLERR,
                           "Pair style bpfast requires special_bonds lj/coul 1.0 1.0 1.0 for a "
                           "system with bonds (the many-body energy needs every neighbour; "
                           "with factors below 1, bonded pairs are left out of the list)");
            }
        }
    }
    neighbor->add_request(this, NeighConst::REQ_FULL);
}

double PairBPFast::init_one(int i, int j) {
    if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
    return cutoff_;
}

/* ---------------------------------------------------------------------- */

void PairBPFast::compute(int eflag, int vflag) {
    ev_init(eflag, vflag);
    if (vflag_atom || cvflag_atom) {
        error->all(FLERR, "Pair style bpfast does not compute per-atom virials "
                          "(compute stress/atom, centroid/stress/atom, heat/flux)");
    }

    const int nall = atom->nlocal + atom->nghost;
    double** x = atom->x;
    const int* type = atom->type;

    positions_.resize(3 * static_cast<size_t>(nall));
    numbers_.resize(nall);
    for (int i = 0; i < nall; ++i) {
        positions_[3 * i] = x[i][0] * length_unit_;
        positions_[3 * i + 1] = x[i][1] * length_unit_;
        positions_[3 * i + 2] = x[i][2] * length_unit_;
        numbers_[i] = type_number_[type[i]];  // 0 for NULL types
    }

    bpfast::HostNeighbors host;
    host.n_total = nall;
    host.positions = positions_.data();
    host.numbers = numbers_.data();
    host.n_centers = list->inum;
    host.centers = list->ilist;
    host.counts = list->numneigh;
    host.neighbors = list->firstneigh;
    host.index_mask = NEIGHMASK;

    bpfast::ComputeOptions options;
    options.forces = true;
    options.energies = eflag_atom != 0;
    options.stress = vflag_global != 0;
    options.threads = threads_ > 0 ? threads_ : comm->nthreads;

    // Each member's forces only where the spread needs them; at other steps the forces
    // and virial of the members' mean energy come from one force sweep.
    const bigint step = update->ntimestep;
    const bool spread_step = step % spread_every_ == 0;
    const bool spread = spread_step || force_spread_flag_ != 0;
    const bool member_forces = spread || members_.size() == 1;
    const bpfast::CommitteeResult committee = evaluate_members(host, options, member_forces);
    tally_mean(committee, member_forces, nall);
    const std::vector<double> member_energies = member_totals(committee.members);
    if (spread) {
        compute_spread(committee.members, member_energies, nall,
                       spread_step && step != last_written_step_);
    } else if (force_spread_.size() < static_cast<size_t>(atom->nlocal)) {
        force_spread_.resize(atom->nlocal, 0.0);  // extract_peratom() covers every local atom
    }
}

// Every member on the same host list: bpfast::Committee shares the symmetry functions
// and the force sweep among members with the same inputs.
bpfast::CommitteeResult PairBPFast::evaluate_members(const bpfast::HostNeighbors& host,
                                                     const bpfast::ComputeOptions& options,
                                                     bool member_forces) const {
    try {
        return committee_->compute(host, options, member_forces);
    } catch (const std::exception& e) {
        error->one(FLERR, "pair_style bpfast: evaluation failed: {}", e.what());
    }
    return {};
}

// The committee mean (sum over members / their number; a single potential's own values):
// forces on local and ghost atoms, energy, per-atom energies, virial, in LAMMPS units.
// Without member forces, the core's forces and virial of the mean energy.
void PairBPFast::tally_mean(const bpfast::CommitteeResult& committee, bool member_forces,
                            int nall) {
    const std::vector<bpfast::Result>& results = committee.members;
    const size_t members = results.size();
    const double count = static_cast<double>(members);
    const double to_energy = 1.0 / energy_unit_;
    const double to_force = length_unit_ / energy_unit_;
    double** f = atom->f;
    for (int i = 0; i < nall; ++i) {
        for (int c = 0; c < 3; ++c) {
            if (!member_forces) {
                f[i][c] += committee.mean.forces[3 * i + c] * to_force;
                continue;
            }
            double sum = results[0].forces[3 * i + c];
            for (size_t m = 1; m < members; ++m) sum += results[m].forces[3 * i + c];
            f[i][c] += sum / count * to_force;
        }
    }
    if (eflag_global) {
        double sum = results[0].energy;
        for (size_t m = 1; m < members; ++m) sum += results[m].energy;
        eng_vdwl += sum / count * to_energy;
    }
    if (eflag_atom) {
        for (int ii = 0; ii < list->inum; ++ii) {
            const int i = list->ilist[ii];
            double sum = results[0].energies[i];
            for (size_t m = 1; m < members; ++m) sum += results[m].energies[i];
            eatom[i] += sum / count * to_energy;
        }
    }
    if (vflag_global) {
        std::array<double, 9> w = committee.mean.virial;
        if (member_forces) {
            w = results[0].virial;
            for (size_t m = 1; m < members; ++m) {
                for (int k = 0; k < 9; ++k) w[k] += results[m].virial[k];
            }
            for (double& value : w) value /= count;
        }
        // LAMMPS' virial is sum_i r_i . f_i = -sum_pairs (dE/dd) (x) d (d = r_j - r_i);
        // the core's virial is +sum_pairs (dE/dd) (x) d. Order: xx, yy, zz, xy, xz, yz.
        virial[0] -= w[0] * to_energy;
        virial[1] -= w[4] * to_energy;
        virial[2] -= w[8] * to_energy;
        virial[3] -= 0.5 * (w[1] + w[3]) * to_energy;
        virial[4] -= 0.5 * (w[2] + w[6]) * to_energy;
        virial[5] -= 0.5 * (w[5] + w[7]) * to_energy;
    }
}

// extract_pair("cflength") / ("cfenergy"): the factors in use, potential units per LAMMPS
// unit (whether given by name or as numbers); ("max_force_spread") / ("energy_std"): the
// committee's spread at the last spread step (LAMMPS units, the same on every rank);
// ("force_spread_flag"): `fix pair`'s request for the per-atom spread at this step.
void* PairBPFast::extract(const char* name, int& dim) {
    dim = 0;
    if (std::strcmp(name, "cflength") == 0) return &length_unit_;
    if (std::strcmp(name, "cfenergy") == 0) return &energy_unit_;
    if (std::strcmp(name, "max_force_spread") == 0) return &max_force_spread_;
    if (std::strcmp(name, "energy_std") == 0) return &energy_std_;
    if (std::strcmp(name, "force_spread_flag") == 0) return &force_spread_flag_;
    return nullptr;
}

double PairBPFast::memory_usage() {
    double bytes = Pair::memory_usage();
    bytes += static_cast<double>(positions_.capacity() * sizeof(double));
    bytes += static_cast<double>(numbers_.capacity() * sizeof(int32_t));
    bytes += static_cast<double>(member_forces_.capacity() * sizeof(double));
    bytes += static_cast<double>(force_spread_.capacity() * sizeof(double));
    return bytes;
}
