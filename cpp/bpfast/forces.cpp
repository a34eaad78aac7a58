#include "bpfast/forces.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "bpfast/potential.hpp"
#include "bpfast/simd.hpp"
#include "bpfast/stopwatch.hpp"
#include "bpfast/threading.hpp"

namespace bpfast {
namespace {

/// Centres per chunk of the round-robin schedule.
constexpr int kChunk = 16;

/// One thread's memory for the pass, and its share of the sums.
struct ForceScratch {
    EnvironmentBuffers environment;
    DescriptorWorkspace descriptor;
    std::vector<NetworkWorkspace> network;  // per element
    std::vector<double> g;                  // SFs, then network inputs, then dE/dG
    std::vector<double> gx, gy, gz;         // dE/dd per neighbour
    std::vector<double> forces;             // n_total x 3
    std::array<double, 9> virial{};
    ExtrapolationCounts counts;
    double t_sf = 0.0, t_nn = 0.0, t_forces = 0.0;

    explicit ForceScratch(const Model& model) : network(model.element_count()), counts(model) {}
};

/// Adds the force and virial contributions of centre i (environment env, dE/dG of its
/// raw SFs dEdG) to the thread's buffers.
void add_gradient(const Evaluation& ev, int64_t i, const NeighborEnv& env, const double* dEdG,
                  bool forces, bool stress, ForceScratch& ts) {
    const int e = ev.centres.element[i];
    if (ts.gx.size() < static_cast<size_t>(env.count)) {
        ts.gx.resize(env.count);
        ts.gy.resize(env.count);
        ts.gz.resize(env.count);
    }
    std::fill(ts.gx.begin(), ts.gx.begin() + env.count, 0.0);
    std::fill(ts.gy.begin(), ts.gy.begin() + env.count, 0.0);
    std::fill(ts.gz.begin(), ts.gz.begin() + env.count, 0.0);
    ev.model.elements[e].descriptor.gradient(env, dEdG, ts.gx.data(), ts.gy.data(),
                                             ts.gz.data(), ts.descriptor, ev.kernels);
    const int64_t* neighbor = ts.environment.neighbor.data();
    double fx = 0.0, fy = 0.0, fz = 0.0;
    for (int m = 0; m < env.count; ++m) {
        const double gx = ts.gx[m], gy = ts.gy[m], gz = ts.gz[m];
        if (forces) {
            const int64_t j = neighbor[m];
            ts.forces[3 * j] -= gx;
            ts.forces[3 * j + 1] -= gy;
            ts.forces[3 * j + 2] -= gz;
            fx += gx;
            fy += gy;
            fz += gz;
        }
        if (stress) {
            const double d[3] = {env.dx[m], env.dy[m], env.dz[m]};
            const double g[3] = {gx, gy, gz};
            for (int a = 0; a < 3; ++a) {
                for (int b = 0; b < 3; ++b) ts.virial[3 * a + b] += g[a] * d[b];
            }
        }
    }
    if (forces) {
        ts.forces[3 * i] += fx;
        ts.forces[3 * i + 1] += fy;
        ts.forces[3 * i + 2] += fz;
    }
}

/// Symmetry functions, network and gradient of centre i; returns its network energy.
double evaluate_atom(const Evaluation& ev, int64_t i, bool forces, bool stress,
                     ForceScratch& ts) {
    const int e = ev.centres.element[i];
    const ElementModel& em = ev.model.elements[e];
    const auto t0 = Clock::now();
    const NeighborEnv env = ev.environment(i, ts.environment);
    const int nsf = em.descriptor.size();
    if (static_cast<int>(ts.g.size()) < nsf) ts.g.resize(nsf);
    double* g = ts.g.data();
    ts.descriptor.record = true;
    em.descriptor.values(env, g, ts.descriptor, ev.kernels);
    ts.descriptor.record = false;
    ts.counts.count(ev.model, e, g);
    em.scaling.apply(g, g);
    const auto t1 = Clock::now();
    const double nn = em.network.evaluate_atom(g, g, ts.network[e]);
    // dE/dG_raw = dNN/dx * scaling factor / conv_energy
    const double* to_raw = em.input_gradient_scale.data();
    for (int s = 0; s < nsf; ++s) g[s] *= to_raw[s];
    const auto t2 = Clock::now();
    add_gradient(ev, i, env, g, forces, stress, ts);
    const auto t3 = Clock::now();
    ts.t_sf += seconds_between(t0, t1);
    ts.t_nn += seconds_between(t1, t2);
    ts.t_forces += seconds_between(t2, t3);
    return nn;
}

}  // namespace

void evaluate_with_forces(const Evaluation& ev, bool forces, bool stress, bool per_atom,
                          ExtrapolationCounts& counts, Result& res) {
    const int nt = ev.threads;
    const int64_t n_total = ev.centres.n_total;
    std::vector<ForceScratch> scratch(nt, ForceScratch(ev.model));
    // Cache-line aligned: chunks of 16 consecutive atoms write whole lines, and no two
    // threads write into one line.
    simd::aligned_vector<double> nn_energy(n_total, 0.0);
#pragma omp parallel num_threads(nt)
    {
        ForceScratch& ts = scratch[thread_id()];
        if (forces) ts.forces.assign(3 * n_total, 0.0);
        // A static schedule with a chunk size deals chunk k to thread k mod nt: each
        // thread's buffers receive the same contributions in the same order every call.
#pragma omp for schedule(static, kChunk)
        for (int64_t c = 0; c < ev.centres.count; ++c) {
            const int64_t i = ev.centres.atom(c);
            nn_energy[i] = evaluate_atom(ev, i, forces, stress, ts);
        }
    }
    set_energies(ev, nn_energy.data(), per_atom, res);
    for (const ForceScratch& ts : scratch) {
        if (forces) {
            for (int64_t k = 0; k < 3 * n_total; ++k) res.forces[k] += ts.forces[k];
        }
        for (int k = 0; k < 9; ++k) res.virial[k] += ts.virial[k];
        counts.add(ts.counts);
        res.timings.symmetry_functions += ts.t_sf / nt;
        res.timings.network += ts.t_nn / nt;
        res.timings.forces += ts.t_forces / nt;
    }
}

}  // namespace bpfast

// ---- A committee group: shared symmetry functions, one gradient sweep for all members.

namespace bpfast {
namespace {

/// One thread's memory for a committee group's pass; member m's rows at m * stride.
struct MembersScratch {
    EnvironmentBuffers environment;
    DescriptorWorkspace descriptor;
    std::vector<NetworkWorkspace> network;  // per member and element: [m * elements + e]
    std::vector<double> g;                  // SFs, then network inputs
    std::vector<double> dEdG;               // per member: dE/dG of the raw SFs
    std::vector<double> nn;                 // per member: the atom's network energy
    std::vector<double> gx, gy, gz;         // per member: dE/dd per neighbour
    std::vector<double> forces;             // per member: n_total x 3
    std::vector<std::array<double, 9>> virial;  // per member
    ExtrapolationCounts counts;
    double t_sf = 0.0, t_nn = 0.0, t_forces = 0.0;

    MembersScratch(const Model& model, size_t members)
        : network(members * model.element_count()), virial(members), counts(model) {}
};

/// Every member's network energy (ts.nn) and dE/dG of the raw SFs (ts.dEdG, rows of
/// nsf) from the scaled inputs ts.g of an atom of element e.
void member_networks(const std::vector<const Model*>& members, int e, int nsf,
                     MembersScratch& ts) {
    const size_t nm = members.size();
    const int nel = members[0]->element_count();
    ts.dEdG.resize(nm * nsf);
    for (size_t m = 0; m < nm; ++m) {
        const ElementModel& em = members[m]->elements[e];
        double* d = ts.dEdG.data() + m * nsf;
        ts.nn[m] = em.network.evaluate_atom(ts.g.data(), d, ts.network[m * nel + e]);
        const double* to_raw = em.input_gradient_scale.data();
        for (int s = 0; s < nsf; ++s) d[s] *= to_raw[s];
    }
}

/// Adds the force and virial contributions of centre i from the first `rows` dE/dd rows
/// (one per member, or one for the members' mean) to the buffers of the same index.
void add_member_gradients(const NeighborEnv& env, int64_t i, int64_t n_total, bool forces,
                          bool stress, size_t rows, MembersScratch& ts) {
    const int64_t* neighbor = ts.environment.neighbor.data();
    for (size_t m = 0; m < rows; ++m) {
        const double* gx = ts.gx.data() + m * env.count;
        const double* gy = ts.gy.data() + m * env.count;
        const double* gz = ts.gz.data() + m * env.count;
        double* f = ts.forces.data() + m * 3 * n_total;
        std::array<double, 9>& virial = ts.virial[m];
        double fx = 0.0, fy = 0.0, fz = 0.0;
        for (int n = 0; n < env.count; ++n) {
            if (forces) {
                const int64_t j = neighbor[n];
                f[3 * j] -= gx[n];
                f[3 * j + 1] -= gy[n];
                f[3 * j + 2] -= gz[n];
                fx += gx[n];
                fy += gy[n];
                fz += gz[n];
            }
            if (stress) {
                const double d[3] = {env.dx[n], env.dy[n], env.dz[n]};
                const double g[3] = {gx[n], gy[n], gz[n]};
                for (int a = 0; a < 3; ++a) {
                    for (int b = 0; b < 3; ++b) virial[3 * a + b] += g[a] * d[b];
                }
            }
        }
        if (forces) {
            f[3 * i] += fx;
            f[3 * i + 1] += fy;
            f[3 * i + 2] += fz;
        }
    }
}

/// Row 0 of ts.dEdG = weight * the sum of the members' rows (the gradient of the
/// weighted sum of their energies).
void sum_member_rows(size_t members, int nsf, double weight, MembersScratch& ts) {
    double* sum = ts.dEdG.data();
    for (size_t m = 1; m < members; ++m) {
        const double* d = ts.dEdG.data() + m * nsf;
        for (int s = 0; s < nsf; ++s) sum[s] += d[s];
    }
    for (int s = 0; s < nsf; ++s) sum[s] *= weight;
}

/// Symmetry functions, every member's network and one gradient sweep of centre i: for
/// every member, or (mean_weight > 0) for mean_weight * the sum of the members' energies.
void evaluate_atom_members(const Evaluation& ev, const std::vector<const Model*>& members,
                           int64_t i, bool forces, bool stress, double mean_weight,
                           MembersScratch& ts) {
    const int e = ev.centres.element[i];
    const ElementModel& em = ev.model.elements[e];
    const auto t0 = Clock::now();
    const NeighborEnv env = ev.environment(i, ts.environment);
    const int nsf = em.descriptor.size();
    if (static_cast<int>(ts.g.size()) < nsf) ts.g.resize(nsf);
    ts.descriptor.record = true;
    em.descriptor.values(env, ts.g.data(), ts.descriptor, ev.kernels);
    ts.descriptor.record = false;
    ts.counts.count(ev.model, e, ts.g.data());
    em.scaling.apply(ts.g.data(), ts.g.data());
    const auto t1 = Clock::now();
    member_networks(members, e, nsf, ts);
    const auto t2 = Clock::now();
    size_t sweeps = members.size();
    if (mean_weight > 0.0) {
        sum_member_rows(members.size(), nsf, mean_weight, ts);
        sweeps = 1;
    }
    for (auto* v : {&ts.gx, &ts.gy, &ts.gz}) v->assign(sweeps * env.count, 0.0);
    if (sweeps == 1) {
        em.descriptor.gradient(env, ts.dEdG.data(), ts.gx.data(), ts.gy.data(), ts.gz.data(),
                               ts.descriptor, ev.kernels);
    } else {
        em.descriptor.gradient_members(env, static_cast<int>(sweeps), ts.dEdG.data(), nsf,
                                       ts.gx.data(), ts.gy.data(), ts.gz.data(), env.count,
                                       ts.descriptor, ev.kernels);
    }
    add_member_gradients(env, i, ev.centres.n_total, forces, stress, sweeps, ts);
    const auto t3 = Clock::now();
    ts.t_sf += seconds_between(t0, t1);
    ts.t_nn += seconds_between(t1, t2);
    ts.t_forces += seconds_between(t2, t3);
}

}  // namespace

void evaluate_members_with_forces(const Evaluation& ev, const std::vector<const Model*>& members,
                                  bool forces, bool stress, bool per_atom,
                                  ExtrapolationCounts& counts, const std::vector<Result*>& res,
                                  Result* mean, double mean_weight) {
    const int nt = ev.threads;
    const size_t nm = members.size();
    const size_t sweeps = mean != nullptr ? 1 : nm;
    const double weight = mean != nullptr ? mean_weight : 0.0;
    const int64_t n_total = ev.centres.n_total;
    std::vector<MembersScratch> scratch(nt, MembersScratch(ev.model, nm));
    simd::aligned_vector<double> nn_energy(nm * n_total, 0.0);  // member-major
#pragma omp parallel num_threads(nt)
    {
        MembersScratch& ts = scratch[thread_id()];
        ts.nn.resize(nm);
        if (forces) ts.forces.assign(sweeps * 3 * n_total, 0.0);
        // The schedule of evaluate_with_forces: reproducible sums.
#pragma omp for schedule(static, kChunk)
        for (int64_t c = 0; c < ev.centres.count; ++c) {
            const int64_t i = ev.centres.atom(c);
            evaluate_atom_members(ev, members, i, forces, stress, weight, ts);
            for (size_t m = 0; m < nm; ++m) nn_energy[m * n_total + i] = ts.nn[m];
        }
    }
    for (size_t m = 0; m < nm; ++m) {
        const Evaluation member_ev{*members[m], ev.centres, ev.environments, ev.kernels, nt};
        set_energies(member_ev, nn_energy.data() + m * n_total, per_atom, *res[m]);
    }
    for (const MembersScratch& ts : scratch) {
        for (size_t m = 0; m < sweeps; ++m) {
            Result& r = mean != nullptr ? *mean : *res[m];
            if (forces) {
                const double* f = ts.forces.data() + m * 3 * n_total;
                for (int64_t k = 0; k < 3 * n_total; ++k) r.forces[k] += f[k];
            }
            for (int k = 0; k < 9; ++k) r.virial[k] += ts.virial[m][k];
        }
        for (Result* r : res) {
            r->timings.symmetry_functions += ts.t_sf / nt;
            r->timings.network += ts.t_nn / nt;
            r->timings.forces += ts.t_forces / nt;
        }
        counts.add(ts.counts);
    }
}

}  // namespace bpfast
