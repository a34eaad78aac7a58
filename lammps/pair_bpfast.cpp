// LAMMPS pair style `bpfast` (see pair_bpfast.h). The bpfast core does all the work; this
// file only converts units, hands LAMMPS' full neighbour list to
// bpfast::Potential::compute(const HostNeighbors&, ...) and tallies what LAMMPS asks for.
#include "pair_bpfast.h"

#include <cmath>
#include <cstring>
#include <exception>
#include <string>

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

#include "bpfast/elements.hpp"
#include "bpfast/errors.hpp"
#include "bpfast/n2p2_io.hpp"
#include "bpfast/potential.hpp"
#include "bpfast/threading.hpp"
#include "unit_names.h"

using namespace LAMMPS_NS;

PairBPFast::PairBPFast(LAMMPS* lmp) : Pair(lmp) {
    single_enable = 0;   // no pairwise single(): the energy is many-body
    restartinfo = 0;     // nothing in restart files; pair_style/pair_coeff are re-read
    one_coeff = 1;       // only `pair_coeff * * ...`
    manybody_flag = 1;
    // The core returns the exact virial sum_pairs (dE/dd) (x) d, so LAMMPS' F.r fallback
    // is not needed (and per-atom virials are not available).
    no_virial_fdotr_compute = 1;
    centroidstressflag = CENTROID_NOTAVAIL;
    // compute pair bpfast -> c_ID[1]: number of (atom, symmetry function) values outside
    // the range of scaling.data in the last evaluation, summed over ranks.
    nextra = 1;
    pvector = new double[nextra];
    pvector[0] = 0.0;
}

PairBPFast::~PairBPFast() {
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
   pair_style bpfast DIR [length_unit NAME | cflength X] [energy_unit NAME | cfenergy Y]
                         [threads N]
------------------------------------------------------------------------- */

void PairBPFast::settings(int narg, char** arg) {
    if (narg < 1) {
        error->all(FLERR, "Illegal pair_style bpfast command: expected pair_style bpfast DIR "
                          "[length_unit NAME] [energy_unit NAME] [threads N]");
    }
    std::string length_name, energy_name;
    double cflength = 0.0, cfenergy = 0.0;  // 0: not given
    int threads = 0;
    for (int k = 1; k < narg; k += 2) {
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
        } else {
            error->all(FLERR,
                       "Illegal pair_style bpfast command: unknown keyword '{}' (expected "
                       "length_unit, energy_unit, cflength, cfenergy or threads)",
                       key);
        }
    }
    length_unit_ = unit_factor("length", length_name, cflength);
    energy_unit_ = unit_factor("energy", energy_name, cfenergy);
    threads_ = threads;
    load_potential(arg[0]);
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

void PairBPFast::load_potential(const std::string& directory) {
    std::string message;
    try {
        potential_ = std::make_unique<bpfast::Potential>(bpfast::read_n2p2_potential(directory));
    } catch (const std::exception& e) {
        potential_.reset();
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
    directory_ = directory;
    element_list_.clear();
    for (const auto& symbol : potential_->spec().elements) {
        element_list_ += (element_list_.empty() ? "" : ", ") + symbol;
    }
    cutoff_ = potential_->cutoff() / length_unit_;
    if (comm->me == 0) {
        utils::logmesg(lmp,
                       "pair_style bpfast: potential '{}': elements {}, cutoff {} (potential "
                       "units) = {} (LAMMPS units)\n",
                       directory_, element_list_, potential_->cutoff(), cutoff_);
    }
}

/* ----------------------------------------------------------------------
   pair_coeff * * El_1 ... El_ntypes   (element symbol of each atom type)
------------------------------------------------------------------------- */

void PairBPFast::coeff(int narg, char** arg) {
    if (!potential_) error->all(FLERR, "pair_coeff bpfast: no potential loaded (pair_style)");
    if (!allocated) allocate();
    const int ntypes = atom->ntypes;
    if (narg != 2 + ntypes || std::strcmp(arg[0], "*") != 0 || std::strcmp(arg[1], "*") != 0) {
        error->all(FLERR,
                   "Incorrect args for pair coefficients: expected pair_coeff * * followed by "
                   "one element symbol for each of the {} atom types, got {} arguments",
                   ntypes, narg);
    }
    for (int t = 1; t <= ntypes; ++t) {
        const std::string symbol = arg[1 + t];
        const int z = bpfast::atomic_number(symbol);
        if (z == 0) {
            error->all(FLERR,
                       "pair_coeff bpfast: '{}' (atom type {}) is not an element symbol; the "
                       "potential '{}' describes {}",
                       symbol, t, directory_, element_list_);
        }
        if (potential_->element_index(z) < 0) {
            error->all(FLERR,
                       "pair_coeff bpfast: element {} (atom type {}) is not in the potential "
                       "'{}', which describes {}",
                       symbol, t, directory_, element_list_);
        }
        type_number_[t] = z;
    }
    for (int i = 1; i <= ntypes; ++i) {
        for (int j = i; j <= ntypes; ++j) setflag[i][j] = 1;
    }
}

void PairBPFast::init_style() {
    if (!potential_) error->all(FLERR, "Pair style bpfast: no potential loaded");
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
    double** f = atom->f;
    const int* type = atom->type;

    positions_.resize(3 * static_cast<size_t>(nall));
    numbers_.resize(nall);
    for (int i = 0; i < nall; ++i) {
        positions_[3 * i] = x[i][0] * length_unit_;
        positions_[3 * i + 1] = x[i][1] * length_unit_;
        positions_[3 * i + 2] = x[i][2] * length_unit_;
        numbers_[i] = type_number_[type[i]];
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

    bpfast::Result res;
    try {
        res = potential_->compute(host, options);
    } catch (const std::exception& e) {
        error->one(FLERR, "pair_style bpfast: evaluation failed: {}", e.what());
    }

    // Potential units -> LAMMPS units.
    const double to_energy = 1.0 / energy_unit_;
    const double to_force = length_unit_ / energy_unit_;
    const double* fr = res.forces.data();
    for (int i = 0; i < nall; ++i) {
        f[i][0] += fr[3 * i] * to_force;
        f[i][1] += fr[3 * i + 1] * to_force;
        f[i][2] += fr[3 * i + 2] * to_force;
    }
    if (eflag_global) eng_vdwl += res.energy * to_energy;
    if (eflag_atom) {
        for (int ii = 0; ii < list->inum; ++ii) {
            const int i = list->ilist[ii];
            eatom[i] += res.energies[i] * to_energy;
        }
    }
    if (vflag_global) {
        // LAMMPS' virial is sum_i r_i . f_i = -sum_pairs (dE/dd) (x) d (d = r_j - r_i);
        // the core's virial is +sum_pairs (dE/dd) (x) d. Order: xx, yy, zz, xy, xz, yz.
        const auto& w = res.virial;
        virial[0] -= w[0] * to_energy;
        virial[1] -= w[4] * to_energy;
        virial[2] -= w[8] * to_energy;
        virial[3] -= 0.5 * (w[1] + w[3]) * to_energy;
        virial[4] -= 0.5 * (w[2] + w[6]) * to_energy;
        virial[5] -= 0.5 * (w[5] + w[7]) * to_energy;
    }
    int64_t outside = 0;
    for (const auto& per_element : res.extrapolations) {
        for (const int64_t count : per_element) outside += count;
    }
    pvector[0] = static_cast<double>(outside);
}

// extract_pair("cflength") / ("cfenergy"): the factors in use, potential units per LAMMPS
// unit (whether given by name or as numbers).
void* PairBPFast::extract(const char* name, int& dim) {
    dim = 0;
    if (std::strcmp(name, "cflength") == 0) return &length_unit_;
    if (std::strcmp(name, "cfenergy") == 0) return &energy_unit_;
    return nullptr;
}

double PairBPFast::memory_usage() {
    double bytes = Pair::memory_usage();
    bytes += static_cast<double>(positions_.capacity() * sizeof(double));
    bytes += static_cast<double>(numbers_.capacity() * sizeof(int32_t));
    return bytes;
}
