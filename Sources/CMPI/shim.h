// Open MPI's handles are macros over its global objects (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM…), which Swift cannot
// import: these functions return them. Everything else is called as MPI declares it.
#include <mpi.h>

static inline MPI_Comm mh_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype mh_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype mh_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype mh_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype mh_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Op mh_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op mh_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op mh_mpi_bxor(void) { return MPI_BXOR; }
static inline MPI_Errhandler mh_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline void *mh_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Info mh_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline int mh_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
