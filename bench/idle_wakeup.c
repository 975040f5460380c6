// Wake-up latency of normal threads beside spinning SCHED_IDLE threads of the same process: the
// kernel behaviour that bounds the p99 of the `serve_fairness` bench (see BENCHMARKS.md,
// "Fairness in `acmebox serve`"). No acmebox code is involved.
//
//   cc -O2 -pthread bench/idle_wakeup.c -o /tmp/idle_wakeup
//   /tmp/idle_wakeup SPINNERS PINNED     # e.g. 0 0, then 2 0, then 8 0
//
// Two normal threads pass a byte back and forth through two pipes 5,000 times (200 µs apart);
// SPINNERS threads in the idle class spin meanwhile. With PINNED=1 the two threads sit on CPUs 0
// and 1, so every wake-up crosses CPUs. Prints p50, p99 and max of the round trip.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { ROUNDS = 5000 };
static int to_echo[2], from_echo[2];

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *spin(void *unused) {
    (void)unused;
    struct sched_param param = {0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) != 0) {
        perror("SCHED_IDLE");
        exit(1);
    }
    for (volatile unsigned long n = 0;; n++) {
    }
    return NULL;
}

static void *echo(void *pinned) {
    if (pinned) pin(1);
    char byte;
    for (;;) {
        if (read(to_echo[0], &byte, 1) != 1 || write(from_echo[1], &byte, 1) != 1) exit(1);
    }
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SPINNERS PINNED\n", argv[0]);
        return 2;
    }
    int spinners = atoi(argv[1]), pinned = atoi(argv[2]);
    if (pipe(to_echo) != 0 || pipe(from_echo) != 0) return 1;
    pthread_t thread;
    for (int i = 0; i < spinners; i++) pthread_create(&thread, NULL, spin, NULL);
    pthread_create(&thread, NULL, echo, pinned ? (void *)1 : NULL);
    if (pinned) pin(0);
    usleep(300000);
    static double rtt[ROUNDS];
    char byte = 'x';
    for (int i = 0; i < ROUNDS; i++) {
        double start = now();
        if (write(to_echo[1], &byte, 1) != 1 || read(from_echo[0], &byte, 1) != 1) return 1;
        rtt[i] = now() - start;
        usleep(200);
    }
    qsort(rtt, ROUNDS, sizeof rtt[0], by_value);
    printf("spinners=%d pinned=%d p50=%.3f ms p99=%.3f ms max=%.3f ms\n", spinners, pinned,
           rtt[ROUNDS / 2] * 1e3, rtt[ROUNDS * 99 / 100] * 1e3, rtt[ROUNDS - 1] * 1e3);
    return 0;
}
