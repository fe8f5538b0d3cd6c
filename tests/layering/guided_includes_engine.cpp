// Must NOT compile: guided/ sits below the engine (the engine's samplers use it), so its target
// cannot reach engine headers.
#include "engine/sampler.h"
int guided_layer_probe() { return 0; }
