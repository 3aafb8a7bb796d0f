"""Pure decision rules of the common fund: no Django, no I/O beyond Pabulib files.

Funding rounds (approval ballots): the Method of Equal Shares with Add1 completion (the official
rule), greedy and sequential Phragmén for comparison. Priority votes: majority judgment and
approval. Resolutions: yes/no/abstain with quorum and threshold. Matchfunding: capped linear
matching and a pairwise-bounded quadratic-funding round. Money is integer cents (or whole currency
units for round costs) and official results are exact.
"""

from fund.rules.approval import ApprovalTally, approval_tally, approval_tally_from_counts
from fund.rules.election import ApprovalElection, tie_order_from_seed
from fund.rules.greedy import GreedyResult, greedy_by_approvals
from fund.rules.linear_match import LinearMatch, factor_from_basis_points, linear_match
from fund.rules.majority_judgment import (
    MajorityJudgmentResult,
    histograms_from_grades,
    majority_judgment,
)
from fund.rules.mes import (
    Add1Step,
    Comparison,
    MESResult,
    Purchase,
    compare_with_greedy,
    effective_supports,
    equal_shares,
    equal_shares_add1,
)
from fund.rules.pabulib import (
    PabulibElection,
    PabulibError,
    PabulibProject,
    PabulibVote,
    dumps_pabulib,
    parse_pabulib,
    read_pabulib,
    write_pabulib,
)
from fund.rules.phragmen import PhragmenResult, sequential_phragmen
from fund.rules.quadratic import ProjectMatch, QuadraticRound, quadratic_round
from fund.rules.resolution import ResolutionResult, resolution_tally

__all__ = [
    "Add1Step",
    "ApprovalElection",
    "ApprovalTally",
    "Comparison",
    "GreedyResult",
    "LinearMatch",
    "MESResult",
    "MajorityJudgmentResult",
    "PabulibElection",
    "PabulibError",
    "PabulibProject",
    "PabulibVote",
    "PhragmenResult",
    "ProjectMatch",
    "Purchase",
    "QuadraticRound",
    "ResolutionResult",
    "approval_tally",
    "approval_tally_from_counts",
    "compare_with_greedy",
    "dumps_pabulib",
    "effective_supports",
    "equal_shares",
    "equal_shares_add1",
    "factor_from_basis_points",
    "greedy_by_approvals",
    "histograms_from_grades",
    "linear_match",
    "majority_judgment",
    "parse_pabulib",
    "quadratic_round",
    "read_pabulib",
    "resolution_tally",
    "sequential_phragmen",
    "tie_order_from_seed",
    "write_pabulib",
]
