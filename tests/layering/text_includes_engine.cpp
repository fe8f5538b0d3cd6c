// Must NOT compile: text/ sits below the engine, so its target cannot reach engine headers.
#include "engine/engine.h"
int text_layer_probe() { return 0; }
