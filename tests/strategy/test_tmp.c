#include "strategy/strategy.h"
#include "unit.h"
TEST(strategy_builds) { CHECK(1); }
