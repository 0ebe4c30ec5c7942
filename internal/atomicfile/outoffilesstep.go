package atomicfile

// OutOfFilesStep says what an error that OutOfFiles reports means, and
// what to do, in the words every part of freshtoken tells it with.
const OutOfFilesStep = "freshtoken has as many files and connections open as the system allows: try again, or raise the limit on open files (ulimit -n)"
